// The loss scaler's state machine: overflow halves and skips, growth after N good steps, bounds,
// static scaling, the --loss_scale flag and the checkpointed state.
#include "trainer/optim/loss_scaler.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kubecnn::optim {
namespace {

struct Event {
  bool overflow;
  bool applied;
  double scale_after;
};

void Replay(LossScaler& scaler, const std::vector<Event>& events) {
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(scaler.Update(events[i].overflow), events[i].applied) << "event " << i;
    EXPECT_EQ(scaler.scale(), events[i].scale_after) << "event " << i;
  }
}

TEST(LossScaler, OverflowSkipsAndHalvesGoodStepsDoubleAfterTheInterval) {
  LossScalerOptions options = DynamicLossScale(65536);
  options.growth_interval = 3;
  LossScaler scaler(options);
  EXPECT_EQ(scaler.scale(), 65536);
  Replay(scaler, {{true, false, 32768},
                  {false, true, 32768},
                  {false, true, 32768},
                  {true, false, 16384},  // the overflow resets the run of good steps
                  {false, true, 16384},
                  {false, true, 16384},
                  {false, true, 32768},  // third good step in a row
                  {false, true, 32768}});
  EXPECT_EQ(scaler.skipped_steps(), 2);
  EXPECT_EQ(scaler.state().good_steps, 1);
}

TEST(LossScaler, DefaultDynamicScaleDoublesAfter2000GoodSteps) {
  LossScaler scaler(DynamicLossScale());
  for (int i = 0; i < 1999; ++i) ASSERT_TRUE(scaler.Update(false));
  EXPECT_EQ(scaler.scale(), 65536);
  EXPECT_TRUE(scaler.Update(false));
  EXPECT_EQ(scaler.scale(), 131072);
}

TEST(LossScaler, ScaleStaysWithinOneAndTwoToTheTwentyFour) {
  LossScalerOptions low = DynamicLossScale(2);
  LossScaler at_floor(low);
  Replay(at_floor, {{true, false, 1}, {true, false, 1}});
  LossScalerOptions high = DynamicLossScale(16777216);
  high.growth_interval = 1;
  LossScaler at_ceiling(high);
  Replay(at_ceiling, {{false, true, 16777216}, {true, false, 8388608}, {false, true, 16777216}});
}

TEST(LossScaler, StaticScaleNeverChangesButStillSkipsNonFiniteSteps) {
  LossScaler scaler(ParseLossScale("128"));
  EXPECT_FALSE(scaler.dynamic());
  Replay(scaler, {{false, true, 128}, {true, false, 128}, {false, true, 128}});
  EXPECT_EQ(scaler.skipped_steps(), 1);
}

TEST(LossScaler, ParsesTheLossScaleFlag) {
  EXPECT_FALSE(ParseLossScale("128").dynamic);
  EXPECT_EQ(ParseLossScale("128").init_scale, 128);
  EXPECT_EQ(ParseLossScale("1").init_scale, 1);
  EXPECT_TRUE(ParseLossScale("dynamic").dynamic);
  EXPECT_EQ(ParseLossScale("dynamic").init_scale, 65536);
  EXPECT_EQ(ParseLossScale("dynamic:1024").init_scale, 1024);
  for (const char* bad : {"", "abc", "0", "-128", "dynamic:", "dynamic:x", "dynamic:-2"}) {
    try {
      ParseLossScale(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("--loss_scale=" + std::string(bad) + ":"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("dynamic[:INIT]"), std::string::npos) << e.what();
    }
  }
}

TEST(LossScaler, RejectsScalesOutsideItsBounds) {
  EXPECT_THROW(LossScaler(DynamicLossScale(0.5)), std::invalid_argument);
  EXPECT_THROW(LossScaler(DynamicLossScale(1e9)), std::invalid_argument);
  EXPECT_THROW(LossScaler(StaticLossScale(0)), std::invalid_argument);
}

TEST(LossScaler, StateRoundTripsThroughTextAndRestoreResumesExactly) {
  LossScalerOptions options = DynamicLossScale(65536);
  options.growth_interval = 3;
  LossScaler a(options);
  a.Update(true);
  a.Update(false);
  const std::string text = SerializeLossScalerState(a.state());
  EXPECT_EQ(text, "scale=32768 good_steps=1 skipped_steps=1");
  LossScaler b(options);
  b.Restore(ParseLossScalerState(text));
  EXPECT_EQ(b.state(), a.state());
  for (bool overflow : {false, false, true, false}) EXPECT_EQ(a.Update(overflow), b.Update(overflow));
  EXPECT_EQ(b.state(), a.state());
}

TEST(LossScaler, RestoreChecksTheStateAndKeepsAStaticScaleFromTheFlag) {
  LossScalerOptions options = DynamicLossScale();
  LossScaler scaler(options);
  EXPECT_THROW(scaler.Restore({0.0, 0, 0}), std::invalid_argument);
  EXPECT_THROW(scaler.Restore({1024, 2000, 0}), std::invalid_argument);
  EXPECT_THROW(scaler.Restore({1024, 0, -1}), std::invalid_argument);
  LossScaler fixed(StaticLossScale(128));
  fixed.Restore({512, 0, 7});
  EXPECT_EQ(fixed.scale(), 128);
  EXPECT_EQ(fixed.skipped_steps(), 7);
}

TEST(LossScaler, BadStateTextSaysWhatIsExpected) {
  for (const char* bad : {"", "scale=1 good_steps=0", "scale=x good_steps=0 skipped_steps=0",
                          "good_steps=0 scale=1 skipped_steps=0", "scale=1 good_steps=-1 skipped_steps=0"}) {
    try {
      ParseLossScalerState(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("expected \"scale=S good_steps=N skipped_steps=N\""), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace kubecnn::optim

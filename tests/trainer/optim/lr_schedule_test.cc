// Learning-rate schedules against hand-computed values: the ResNet step recipe, nvcnn's poly,
// cosine, warm-up boundaries, batch scaling; the --lr_schedule grammar and its error messages.
#include "trainer/optim/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace kubecnn::optim {
namespace {

struct Point {
  int64_t step;
  double lr;
};

void ExpectSchedule(const LrSchedule& schedule, const std::vector<Point>& points) {
  ValidateLrSchedule(schedule);
  for (const Point& p : points) {
    EXPECT_NEAR(LearningRate(schedule, p.step), p.lr, 1e-12 + 1e-12 * std::abs(p.lr))
        << FormatLrSchedule(schedule) << " at step " << p.step;
  }
}

LrSchedule Parsed(const std::string& spec, double base_lr) {
  LrSchedule s = ParseLrSchedule(spec);
  s.base_lr = base_lr;
  return s;
}

TEST(LrSchedule, StepDecayDropsTenfoldAtEachBoundary) {
  // SGD momentum 0.9, batch 256, lr 0.1 divided by 10 after 150k, 300k, 400k and 450k iterations.
  const LrSchedule s = Parsed("step:150000,300000,400000,450000", 0.1);
  ExpectSchedule(s, {{0, 0.1},
                     {149999, 0.1},
                     {150000, 0.01},
                     {299999, 0.01},
                     {300000, 0.001},
                     {399999, 0.001},
                     {400000, 1e-4},
                     {450000, 1e-5},
                     {10000000, 1e-5}});
}

TEST(LrSchedule, StepEpochBoundariesConvertWithStepsPerEpoch) {
  LrSchedule s = Parsed("step_epochs:30,60,80", 0.1);
  s.steps_per_epoch = 5004;  // 1281167 images / 256
  EXPECT_EQ(BoundarySteps(s), (std::vector<int64_t>{150120, 300240, 400320}));
  ExpectSchedule(s, {{150119, 0.1}, {150120, 0.01}, {300240, 0.001}, {400320, 1e-4}});
  s = Parsed("step_epochs:2.5;factor=0.5", 1.0);
  s.steps_per_epoch = 3;  // 7.5 steps rounds to 8
  ExpectSchedule(s, {{7, 1.0}, {8, 0.5}});
}

TEST(LrSchedule, PolyIsNvcnnsPolynomialDecayToZero) {
  LrSchedule s = Parsed("poly:2", 2.0);  // nvcnn: --learning_rate=2.0, power 2 over the whole run
  s.total_steps = 1000;
  ExpectSchedule(s, {{0, 2.0}, {500, 0.5}, {750, 0.125}, {900, 0.02}, {1000, 0.0}, {5000, 0.0}});
  s = Parsed("poly:1;end_lr=0.1", 1.1);
  s.total_steps = 100;
  ExpectSchedule(s, {{0, 1.1}, {50, 0.6}, {100, 0.1}, {200, 0.1}});
  EXPECT_EQ(ParseLrSchedule("poly").power, 2.0);
  EXPECT_EQ(FormatLrSchedule(ParseLrSchedule(kNvcnnLrSchedule)), "poly:2");
}

TEST(LrSchedule, CosineHalvesAtMidRunAndEndsAtEndLr) {
  LrSchedule s = Parsed("cosine", 1.0);
  s.total_steps = 100;
  ExpectSchedule(s, {{0, 1.0}, {25, 0.5 + 0.5 * std::sqrt(0.5)}, {50, 0.5}, {100, 0.0}, {101, 0.0}});
  s = Parsed("cosine;end_lr=0.2", 1.0);
  s.total_steps = 100;
  ExpectSchedule(s, {{50, 0.6}, {100, 0.2}});
}

TEST(LrSchedule, ConstantNeverChanges) {
  ExpectSchedule(Parsed("constant", 0.3), {{0, 0.3}, {1, 0.3}, {1000000000, 0.3}});
}

TEST(LrSchedule, WarmupRampsLinearlyThenHandsOverToTheDecay) {
  // Step boundaries stay absolute under warm-up.
  ExpectSchedule(Parsed("step:150000;warmup_steps=100", 0.1),
                 {{0, 0.0}, {1, 0.001}, {50, 0.05}, {99, 0.099}, {100, 0.1}, {150000, 0.01}});
  ExpectSchedule(Parsed("step:150000;warmup_steps=100;warmup_start_factor=0.1", 0.1),
                 {{0, 0.01}, {50, 0.055}, {100, 0.1}});
  // Poly and cosine start decaying where the warm-up ends.
  LrSchedule poly = Parsed("poly:2;warmup_steps=100", 1.0);
  poly.total_steps = 1100;
  ExpectSchedule(poly, {{0, 0.0}, {50, 0.5}, {100, 1.0}, {600, 0.25}, {1100, 0.0}});
  LrSchedule cosine = Parsed("cosine;warmup_steps=10", 2.0);
  cosine.total_steps = 30;
  ExpectSchedule(cosine, {{5, 1.0}, {10, 2.0}, {20, 1.0}, {30, 0.0}});
  // Warm-up in epochs.
  LrSchedule epochs = Parsed("constant;warmup_epochs=5", 1.0);
  epochs.steps_per_epoch = 10;
  EXPECT_EQ(WarmupSteps(epochs), 50);
  ExpectSchedule(epochs, {{0, 0.0}, {25, 0.5}, {50, 1.0}});
}

TEST(LrSchedule, LinearScalingMultipliesTheBaseByGlobalOverReferenceBatch) {
  LrSchedule s = Parsed("step:100;warmup_steps=10", 0.1);
  s.global_batch = 1024;
  s.reference_batch = 256;
  EXPECT_DOUBLE_EQ(ScaledBaseLr(s), 0.4);
  ExpectSchedule(s, {{5, 0.2}, {10, 0.4}, {100, 0.04}});
  s.reference_batch = 0;  // off
  ExpectSchedule(s, {{10, 0.1}});
}

TEST(LrSchedule, ParsesEveryKindAndOption) {
  LrSchedule s = ParseLrSchedule(" step_epochs : 30, 60 ,80 ; factor = 0.2 ; warmup_epochs=5; warmup_start_factor=0.1");
  EXPECT_EQ(s.decay, LrDecay::kStep);
  EXPECT_EQ(s.boundary_unit, ScheduleUnit::kEpochs);
  EXPECT_EQ(s.boundaries, (std::vector<double>{30, 60, 80}));
  EXPECT_EQ(s.factor, 0.2);
  EXPECT_EQ(s.warmup, 5);
  EXPECT_EQ(s.warmup_unit, ScheduleUnit::kEpochs);
  EXPECT_EQ(s.warmup_start_factor, 0.1);
  s = ParseLrSchedule("poly:1.5;end_lr=1e-4;warmup_steps=500");
  EXPECT_EQ(s.decay, LrDecay::kPoly);
  EXPECT_EQ(s.power, 1.5);
  EXPECT_EQ(s.end_lr, 1e-4);
  EXPECT_EQ(s.warmup, 500);
  EXPECT_EQ(s.warmup_unit, ScheduleUnit::kSteps);
}

TEST(LrSchedule, FormatIsTheCanonicalSpecAndRoundTrips) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"step:150000,300000,400000,450000", "step:150000,300000,400000,450000"},
      {"step_epochs: 30,60,80 ;factor=0.1", "step_epochs:30,60,80"},
      {"poly", "poly:2"},
      {"cosine;end_lr=0.001;warmup_epochs=2.5;warmup_start_factor=0.25",
       "cosine;end_lr=0.001;warmup_epochs=2.5;warmup_start_factor=0.25"},
      {"constant;warmup_steps=100", "constant;warmup_steps=100"},
  };
  for (const auto& [spec, canonical] : cases) {
    EXPECT_EQ(FormatLrSchedule(ParseLrSchedule(spec)), canonical) << spec;
    EXPECT_EQ(FormatLrSchedule(ParseLrSchedule(canonical)), canonical) << canonical;
  }
}

TEST(LrSchedule, BadSpecsSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no schedule kind"},
      {"exponential", "unknown kind \"exponential\""},
      {"step", "step needs its boundaries"},
      {"step:", "step needs its boundaries"},
      {"step:100,50", "strictly increasing, but 50 follows 100"},
      {"step:100,100", "strictly increasing"},
      {"step:0", "must be positive"},
      {"step:1.5", "not a whole number of iterations (use step_epochs: for epochs)"},
      {"step:10,,20", "boundary \"\" is not"},
      {"step_epochs:30,sixty", "\"sixty\" is not a number of epochs"},
      {"poly:-1", "poly power \"-1\" must be a positive number"},
      {"cosine:5", "cosine takes no arguments"},
      {"step:100;factor", "is not key=value"},
      {"step:100;factor=abc", "factor=abc: the value is not a number"},
      {"step:100;factor=0", "factor must be positive"},
      {"step:100;gamma=0.5", "unknown option \"gamma\""},
      {"step:100;factor=0.5;factor=0.2", "factor is given twice"},
      {"poly;factor=0.5", "factor applies to step and step_epochs only"},
      {"step:100;end_lr=0.1", "end_lr applies to poly and cosine only"},
      {"constant;warmup_steps=10;warmup_epochs=1", "not both"},
      {"constant;warmup_steps=2.5", "not a whole number"},
      {"constant;warmup_start_factor=2", "within [0, 1]"},
  };
  for (const auto& [spec, message] : cases) {
    try {
      ParseLrSchedule(spec);
      ADD_FAILURE() << "accepted \"" << spec << "\"";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("lr schedule \"" + spec + "\""), std::string::npos) << e.what();
    }
  }
}

TEST(LrSchedule, ValidationNeedsTheRunFieldsEachKindUses) {
  const auto message_of = [](const LrSchedule& s) -> std::string {
    try {
      ValidateLrSchedule(s);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  LrSchedule epochs = ParseLrSchedule("step_epochs:30");
  EXPECT_NE(message_of(epochs).find("epochs need steps per epoch"), std::string::npos);
  LrSchedule poly = ParseLrSchedule("poly:2;warmup_steps=100");
  poly.total_steps = 100;
  EXPECT_NE(message_of(poly).find("more total steps (100) than warm-up steps (100)"), std::string::npos);
  poly.total_steps = 101;
  EXPECT_EQ(message_of(poly), "");
  LrSchedule scaled = ParseLrSchedule("constant");
  scaled.reference_batch = 256;
  EXPECT_NE(message_of(scaled).find("needs the global batch size"), std::string::npos);
  LrSchedule negative = ParseLrSchedule("constant");
  negative.base_lr = -0.1;
  EXPECT_NE(message_of(negative).find("must be >= 0"), std::string::npos);
}

}  // namespace
}  // namespace kubecnn::optim

// LARC clip/scale and LARS trust ratios against hand-computed values, and the flag mapping.
#include "trainer/optim/larc.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kubecnn::optim {
namespace {

LayerwiseOptions Options(LayerwiseKind kind, double eta, double epsilon = 0.0) { return {kind, eta, epsilon}; }

TEST(Larc, LocalLrIsEtaTimesWeightNormOverDecayedGradNorm) {
  // 0.01 * 3 / (0.5 + 0.5 * 3) = 0.015
  EXPECT_DOUBLE_EQ(LocalLr(0.01, 0.0, 3.0, 0.5, 0.5), 0.015);
  // nvcnn's recipe: eta 0.003, wd 1e-4, epsilon 1e-8: 0.006 / 0.50020001
  EXPECT_DOUBLE_EQ(LocalLr(0.003, 1e-8, 2.0, 0.5, 1e-4), 0.011995201679424196);
}

TEST(Larc, TrustRatioPerModeByHand) {
  struct Case {
    LayerwiseKind kind;
    double lr;
    double expected;
  };
  // ||w|| 3, ||g|| 0.5, wd 0.5, eta 0.01: local lr 0.015.
  const std::vector<Case> cases = {
      {LayerwiseKind::kNone, 0.1, 1.0},
      {LayerwiseKind::kLarcClip, 0.1, 0.15},    // min(0.015 / 0.1, 1): effective lr 0.015
      {LayerwiseKind::kLarcClip, 0.01, 1.0},    // local lr above lr: clipped to lr
      {LayerwiseKind::kLarcClip, 0.015, 1.0},   // exactly at the clip
      {LayerwiseKind::kLarcScale, 0.1, 0.015},  // effective lr 0.1 * 0.015
      {LayerwiseKind::kLarcScale, 0.01, 0.015},
      {LayerwiseKind::kLars, 0.1, 0.015},
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(TrustRatio(Options(c.kind, 0.01), 3.0, 0.5, 0.5, c.lr), c.expected, 1e-15)
        << LayerwiseKindName(c.kind) << " lr " << c.lr;
  }
  // nvcnn's command line: --larc_mode=clip --larc_eta=0.003 --learning_rate=2.0.
  EXPECT_DOUBLE_EQ(TrustRatio(Options(LayerwiseKind::kLarcClip, 0.003, 1e-8), 2.0, 0.5, 1e-4, 2.0),
                   0.005997600839712098);
}

TEST(Larc, ZeroWeightOrGradientNormLeavesTheGradientAlone) {
  for (LayerwiseKind kind : {LayerwiseKind::kLarcClip, LayerwiseKind::kLarcScale, LayerwiseKind::kLars}) {
    EXPECT_EQ(TrustRatio(Options(kind, 0.003), 0.0, 0.5, 1e-4, 2.0), 1.0) << LayerwiseKindName(kind);
    EXPECT_EQ(TrustRatio(Options(kind, 0.003), 2.0, 0.0, 1e-4, 2.0), 1.0) << LayerwiseKindName(kind);
  }
  EXPECT_EQ(LocalLr(0.003, 1e-8, 0.0, 0.0, 0.0), 1.0);
}

TEST(Larc, ClipWithZeroLrIsANoOpRatio) {
  EXPECT_EQ(TrustRatio(Options(LayerwiseKind::kLarcClip, 0.01), 3.0, 0.5, 0.0, 0.0), 1.0);
}

TEST(Larc, FlagsPickLarcLarsOrNothing) {
  struct Case {
    const char* optimizer;
    const char* mode;
    double eta;
    LayerwiseKind kind;
    double expected_eta;
  };
  const std::vector<Case> cases = {
      {"sgd", "clip", 0.003, LayerwiseKind::kLarcClip, 0.003},
      {"sgd", "scale", 0.01, LayerwiseKind::kLarcScale, 0.01},
      {"sgd", "clip", 0.0, LayerwiseKind::kNone, 0.0},  // nvcnn: no --larc_eta, no LARC
      {"momentum", "clip", 0.003, LayerwiseKind::kLarcClip, 0.003},
      {"lars", "clip", 0.0, LayerwiseKind::kLars, kLarsDefaultEta},
      {"lars", "clip", 0.002, LayerwiseKind::kLars, 0.002},
  };
  for (const Case& c : cases) {
    const LayerwiseOptions o = LayerwiseFromFlags(c.optimizer, c.mode, c.eta);
    EXPECT_EQ(o.kind, c.kind) << c.optimizer << " " << c.mode << " " << c.eta;
    EXPECT_EQ(o.eta, c.expected_eta);
  }
}

TEST(Larc, BadFlagsSayWhatIsAccepted) {
  const std::vector<std::tuple<const char*, const char*, double, const char*>> cases = {
      {"adam", "clip", 0.003, "--optimizer=adam is not known; use sgd"},
      {"sgd", "lars", 0.003, "--larc_mode=lars is not known; use clip or scale (for LARS pass --optimizer=lars)"},
      {"sgd", "clip", -1.0, "--larc_eta=-1 must be >= 0"},
  };
  for (const auto& [optimizer, mode, eta, message] : cases) {
    try {
      LayerwiseFromFlags(optimizer, mode, eta);
      ADD_FAILURE() << "accepted " << optimizer << " " << mode;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace kubecnn::optim

// Throughput statistics against hand-computed values, and the log line format.
#include "trainer/metrics/throughput.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kubecnn::metrics {
namespace {

TEST(Throughput, BurnInStepsAreNotCounted) {
  // 100 images per step; burn-in steps are slow and must not count.
  const std::vector<double> seconds = {10.0, 10.0, 1.0, 0.5, 0.25};
  const ThroughputSummary s = SummarizeThroughput(seconds, 100, 2);
  EXPECT_EQ(s.steps, 3);
  // speeds 100, 200, 400: mean 233.33, sample sd 152.75, standard error 88.19
  EXPECT_NEAR(s.mean, 700.0 / 3, 1e-9);
  EXPECT_NEAR(
      s.uncertainty,
      std::sqrt((133.333333 * 133.333333 + 33.333333 * 33.333333 + 166.666667 * 166.666667) / 2) / std::sqrt(3.0),
      1e-3);
  // median 200; |dev| = 100, 0, 200 -> MAD 100 -> jitter 148.26
  EXPECT_NEAR(s.jitter, 148.26, 1e-9);
  EXPECT_EQ(FormatThroughput(s, 2), "Images/sec: 233.3 +/- 88.2 (jitter = 148.3)");
}

TEST(Throughput, TooFewStepsSayWhy) {
  const ThroughputSummary s = SummarizeThroughput({1.0, 1.0}, 10, 20);
  EXPECT_EQ(s.steps, 0);
  EXPECT_EQ(FormatThroughput(s, 20), "No results, did not get past burn-in phase (20 steps)");
  EXPECT_TRUE(std::isnan(SummarizeThroughput({1.0, 2.0}, 10, 0).uncertainty));
}

TEST(Throughput, StepLineHasNvcnnColumns) {
  EXPECT_EQ(StepLogLine(100, 1, 1234.56, 6.9078, 0.1, 128), "   100     1  1234.6   6.908 0.10000      128");
}

}  // namespace
}  // namespace kubecnn::metrics

// Bucket planning: consecutive gradients up to the threshold, dtype boundaries, oversized ones alone.
#include "trainer/comm/bucket_plan.h"

#include <gtest/gtest.h>

namespace kubecnn::comm {
namespace {

using Buckets = std::vector<std::vector<size_t>>;

std::vector<GradientInfo> Floats(std::initializer_list<int64_t> bytes) {
  std::vector<GradientInfo> out;
  for (int64_t b : bytes) out.push_back({b, 6});
  return out;
}

TEST(BucketPlan, PacksConsecutiveGradientsUpToTheThreshold) {
  EXPECT_EQ(PlanBuckets(Floats({40, 40, 20, 30, 70}), 100), (Buckets{{0, 1, 2}, {3, 4}}));
  EXPECT_EQ(PlanBuckets(Floats({40, 40, 30, 80}), 100), (Buckets{{0, 1}, {2}, {3}}));
  EXPECT_EQ(PlanBuckets(Floats({10, 10, 10}), 1000), (Buckets{{0, 1, 2}}));
}

TEST(BucketPlan, AGradientLargerThanTheThresholdTravelsAlone) {
  EXPECT_EQ(PlanBuckets(Floats({10, 500, 10, 10}), 100), (Buckets{{0}, {1}, {2, 3}}));
}

TEST(BucketPlan, ZeroThresholdGivesOneBucketPerGradient) {
  EXPECT_EQ(PlanBuckets(Floats({1, 2, 3}), 0), (Buckets{{0}, {1}, {2}}));
}

TEST(BucketPlan, ADtypeChangeClosesTheBucket) {
  const std::vector<GradientInfo> g = {{10, 6}, {10, 6}, {10, 5}, {10, 6}};
  EXPECT_EQ(PlanBuckets(g, 1000), (Buckets{{0, 1}, {2}, {3}}));
}

TEST(BucketPlan, Resnet50At64MiBNeedsTwoBuckets) {
  // 25,557,032 fp32 parameters = 97.5 MiB: Horovod's 64 MiB threshold gives two fused all-reduces.
  std::vector<GradientInfo> g(161, {int64_t{25'557'032} * 4 / 161, 6});
  EXPECT_EQ(PlanBuckets(g, int64_t{64} << 20).size(), 2u);
  EXPECT_TRUE(PlanBuckets({}, 100).empty());
}

}  // namespace
}  // namespace kubecnn::comm

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

TEST(BucketPlan, MinBucketsLowersTheCapToAShareOfAllGradients) {
  // 100 bytes in all, four buckets wanted: the cap drops from 1000 to 25.
  EXPECT_EQ(PlanBuckets(Floats({10, 10, 10, 10, 10, 10, 10, 10, 10, 10}), 1000, 4),
            (Buckets{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}}));
  // A smaller threshold still wins.
  EXPECT_EQ(PlanBuckets(Floats({10, 10, 10, 10}), 10, 2), (Buckets{{0}, {1}, {2}, {3}}));
  // ResNet-18's 44.6 MiB under Horovod's 64 MiB threshold: four full buckets and a remainder
  // instead of a single one that could start only after backward.
  std::vector<GradientInfo> g(62, {int64_t{11'689'512} * 4 / 62, 6});
  EXPECT_EQ(PlanBuckets(g, int64_t{64} << 20).size(), 1u);
  EXPECT_EQ(PlanBuckets(g, int64_t{64} << 20, 4).size(), 5u);
}

}  // namespace
}  // namespace kubecnn::comm

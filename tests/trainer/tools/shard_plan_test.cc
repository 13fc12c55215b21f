// Shard planning: a seeded permutation and even, complete slices.
#include "trainer/tools/shard_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace kubecnn::tools {
namespace {

TEST(ShardPlan, ShuffledOrderIsAPermutationFixedByTheSeed) {
  const auto a = ShuffledOrder(1000, 7);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> identity(1000);
  std::iota(identity.begin(), identity.end(), size_t{0});
  EXPECT_EQ(sorted, identity);
  EXPECT_EQ(a, ShuffledOrder(1000, 7));
  EXPECT_NE(a, ShuffledOrder(1000, 8));
  EXPECT_NE(a, identity);
  EXPECT_TRUE(ShuffledOrder(0, 7).empty());
}

TEST(ShardPlan, SlicesCoverEveryItemOnceWithSizesWithinOne) {
  struct Case {
    size_t n;
    int shards;
  };
  for (const Case c : {Case{10, 3}, Case{1281167, 1024}, Case{5, 5}, Case{7, 1}, Case{3, 4}}) {
    size_t expected_begin = 0, smallest = SIZE_MAX, largest = 0;
    for (int s = 0; s < c.shards; ++s) {
      const Slice slice = ShardSlice(s, c.shards, c.n);
      EXPECT_EQ(slice.begin, expected_begin) << c.n << "/" << c.shards << " shard " << s;
      expected_begin = slice.end;
      smallest = std::min(smallest, slice.size());
      largest = std::max(largest, slice.size());
    }
    EXPECT_EQ(expected_begin, c.n);
    EXPECT_LE(largest - smallest, 1u);
  }
}

}  // namespace
}  // namespace kubecnn::tools

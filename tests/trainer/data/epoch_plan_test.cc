// Epoch planning over many (shard sizes, world size) combinations: exactly-once coverage,
// balanced ranks, agreed reshuffled shard order, a uniform whole-epoch permutation by default,
// bounded shuffle locality, determinism.
#include "trainer/data/epoch_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace kubecnn::data {
namespace {

struct Layout {
  std::vector<int64_t> shard_sizes;
  int world;
};

std::vector<Layout> Layouts() {
  std::vector<Layout> out;
  const std::vector<std::vector<int64_t>> shard_sets = {
      {1}, {7}, {5, 5, 5, 5}, {3, 0, 9, 1, 4}, {10, 10, 10}, {100, 1, 37, 64, 2, 9, 50}, std::vector<int64_t>(16, 13)};
  for (const auto& sizes : shard_sets) {
    for (int world : {1, 2, 3, 4, 7, 8, 16}) out.push_back({sizes, world});
  }
  return out;
}

TEST(EpochPlan, EveryRecordReadExactlyOncePerEpochAcrossRanks) {
  for (const Layout& layout : Layouts()) {
    const int64_t total = std::accumulate(layout.shard_sizes.begin(), layout.shard_sizes.end(), int64_t{0});
    for (int64_t epoch : {0, 1, 5}) {
      for (const auto& [shuffle, buffer] : {std::pair{false, 4}, {true, 4}, {true, 0}, {true, 1}}) {
        std::map<std::pair<int32_t, int64_t>, int> seen;
        int64_t min_count = total, max_count = 0;
        for (int rank = 0; rank < layout.world; ++rank) {
          const auto plan = PlanEpoch(layout.shard_sizes, {123, epoch, rank, layout.world, shuffle, buffer});
          min_count = std::min<int64_t>(min_count, static_cast<int64_t>(plan.size()));
          max_count = std::max<int64_t>(max_count, static_cast<int64_t>(plan.size()));
          for (const RecordRef& r : plan) {
            ASSERT_GE(r.record, 0);
            ASSERT_LT(r.record, layout.shard_sizes[r.shard]);
            ++seen[{r.shard, r.record}];
          }
        }
        SCOPED_TRACE("world " + std::to_string(layout.world) + " total " + std::to_string(total) + " buffer " +
                     std::to_string(buffer));
        ASSERT_EQ(static_cast<int64_t>(seen.size()), total);
        for (const auto& [ref, count] : seen) ASSERT_EQ(count, 1);
        ASSERT_LE(max_count - min_count, 1);  // balanced: ranks step in lockstep
      }
    }
  }
}

TEST(EpochPlan, RangesCoverTheSequenceContiguously) {
  for (int64_t total : {0, 1, 2, 9, 1000, 1281167}) {
    for (int world : {1, 2, 3, 8, 64, 1024}) {
      int64_t next = 0;
      for (int rank = 0; rank < world; ++rank) {
        const RankRange r = RangeForRank(total, rank, world);
        ASSERT_EQ(r.begin, next);
        ASSERT_TRUE(r.count == total / world || r.count == total / world + 1);
        next += r.count;
      }
      ASSERT_EQ(next, total);
    }
  }
  EXPECT_THROW(RangeForRank(10, 2, 2), std::invalid_argument);
}

TEST(EpochPlan, ShardOrderIsAgreedByRanksAndReshuffledEachEpoch) {
  EpochPlanOptions a{7, 0, 0, 4, true, 1};
  EpochPlanOptions b = a;
  b.rank = 3;
  EXPECT_EQ(ShardOrder(64, a), ShardOrder(64, b));  // rank does not enter the shard order
  std::set<std::vector<int32_t>> orders;
  for (int64_t epoch = 0; epoch < 10; ++epoch) {
    a.epoch = epoch;
    auto order = ShardOrder(64, a);
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int32_t> identity(64);
    std::iota(identity.begin(), identity.end(), 0);
    ASSERT_EQ(sorted, identity);  // a permutation
    orders.insert(order);
  }
  EXPECT_EQ(orders.size(), 10u);
  a.shuffle = false;
  const auto unshuffled = ShardOrder(64, a);
  EXPECT_TRUE(std::is_sorted(unshuffled.begin(), unshuffled.end()));
}

TEST(EpochPlan, SameInputsSamePlanDifferentSeedDifferentPlan) {
  const std::vector<int64_t> sizes(8, 100);
  const auto p1 = PlanEpoch(sizes, {1, 3, 1, 2, true, 50});
  EXPECT_EQ(p1, PlanEpoch(sizes, {1, 3, 1, 2, true, 50}));
  EXPECT_NE(p1, PlanEpoch(sizes, {2, 3, 1, 2, true, 50}));
}

TEST(EpochPlan, UnshuffledPlanIsFileOrder) {
  const auto plan = PlanEpoch({2, 3}, {9, 4, 0, 1, false, 1000});
  EXPECT_EQ(plan, (std::vector<RecordRef>{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {1, 2}}));
}

TEST(EpochPlan, ShuffleBufferBoundsHowFarAheadARankReads) {
  // With one shard and no shard shuffle effect, input order is record order; a buffer of B can
  // emit record k only once at least k - B + 1 records were consumed.
  const int64_t n = 5000, buffer = 64;
  const auto plan = PlanEpoch({n}, {5, 0, 0, 1, true, buffer});
  ASSERT_EQ(static_cast<int64_t>(plan.size()), n);
  int64_t displaced = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_LE(plan[i].record, i + buffer - 1) << "read too far ahead at output " << i;
    displaced += plan[i].record != i;
  }
  EXPECT_GT(displaced, n * 9 / 10);  // and it does actually shuffle
}

TEST(EpochPlan, WholeEpochPermutationMixesEveryShardFromTheFirstBatch) {
  // 8 shards of 500: the first 64 records rank 0 reads come from nearly all shards with the
  // default permutation, but from at most two with a shard-ordered 100-record buffer.
  const std::vector<int64_t> shards(8, 500);
  const auto shards_in_first = [&](int64_t buffer) {
    const auto plan = PlanEpoch(shards, {42, 0, 0, 2, true, buffer});
    std::set<int32_t> seen;
    for (size_t i = 0; i < 64; ++i) seen.insert(plan[i].shard);
    return seen.size();
  };
  EXPECT_EQ(shards_in_first(0), 8u);
  EXPECT_LE(shards_in_first(100), 2u);
}

TEST(EpochPlan, WholeEpochPermutationPutsEveryRecordFirstEquallyOften) {
  // Over 4000 epochs each of 20 records (4 uneven shards, one empty) should open rank 0's epoch
  // about 200 times; a biased shuffle (say, shard-major) would not. Bounds are > 6 sigma.
  const std::vector<int64_t> shards = {3, 0, 9, 8};
  std::map<std::pair<int32_t, int64_t>, int> first;
  for (int64_t epoch = 0; epoch < 4000; ++epoch) {
    const RecordRef r = PlanEpoch(shards, {7, epoch, 0, 2, true, 0}).front();
    ++first[{r.shard, r.record}];
  }
  ASSERT_EQ(first.size(), 20u);
  for (const auto& [ref, count] : first) {
    EXPECT_GT(count, 110) << ref.first << "/" << ref.second;
    EXPECT_LT(count, 290) << ref.first << "/" << ref.second;
  }
}

TEST(EpochPlan, WholeEpochPermutationIsAgreedByRanksAndDiffersByEpoch) {
  const std::vector<int64_t> shards = {50, 70, 30};
  const auto epoch_sequence = [&](int64_t epoch) {
    std::vector<RecordRef> all;
    for (int rank = 0; rank < 3; ++rank) {
      const auto part = PlanEpoch(shards, {11, epoch, rank, 3, true, 0});
      all.insert(all.end(), part.begin(), part.end());
    }
    return all;
  };
  EXPECT_EQ(epoch_sequence(2), epoch_sequence(2));
  EXPECT_NE(epoch_sequence(2), epoch_sequence(3));
  EXPECT_THROW(PlanEpoch(shards, {11, 0, 0, 1, true, -1}), std::invalid_argument);
}

}  // namespace
}  // namespace kubecnn::data

// Which records a rank reads in an epoch, and in what order: a pure function of the shard sizes,
// the seed, the epoch and (rank, world).
//
// Every record is read exactly once per epoch across all ranks: the shards are put in an order
// that all ranks agree on (reshuffled each epoch from the seed), their records concatenated, and
// that sequence cut into `world` contiguous ranges whose sizes differ by at most one. Each rank
// then reads its range through a bounded shuffle buffer, so it touches at most `shuffle_buffer`
// records ahead of its read position.
#pragma once

#include <cstdint>
#include <vector>

namespace kubecnn::data {

struct RecordRef {
  int32_t shard = 0;   // index into the shard list
  int64_t record = 0;  // record number within the shard
  bool operator==(const RecordRef&) const = default;
};

struct EpochPlanOptions {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int rank = 0;
  int world = 1;
  bool shuffle = true;             // false: shards and records in file order (evaluation)
  int64_t shuffle_buffer = 10000;  // records; 1 disables record-level shuffling
};

// First record (in the epoch's global sequence) and count of `rank`'s range.
struct RankRange {
  int64_t begin = 0;
  int64_t count = 0;
};
RankRange RangeForRank(int64_t total_records, int rank, int world);

// The shard order for an epoch (a permutation of 0..num_shards-1), identical on every rank.
std::vector<int32_t> ShardOrder(int32_t num_shards, const EpochPlanOptions& options);

// The records `options.rank` reads in `options.epoch`, in reading order.
std::vector<RecordRef> PlanEpoch(const std::vector<int64_t>& records_per_shard, const EpochPlanOptions& options);

}  // namespace kubecnn::data

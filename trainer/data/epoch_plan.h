// Which records a rank reads in an epoch, and in what order: a pure function of the shard sizes,
// the seed, the epoch and (rank, world).
//
// Every record is read exactly once per epoch across all ranks: the epoch's global sequence of
// records is cut into `world` contiguous ranges whose sizes differ by at most one. The sequence is
// by default a uniform permutation of every record of every shard (shuffle_buffer 0), as
// PyTorch's DistributedSampler draws it: the loader reads records by their offsets, so a batch
// mixes all shards from the first step, and the permutation costs 4 bytes per record for the
// moment it is drawn. With shuffle_buffer N > 0 the sequence is instead the shards in an order all
// ranks agree on, records concatenated, and each rank reads its range through a bounded shuffle
// buffer of N records (tf.data's scheme): reads stay sequential within a shard, for storage where
// random reads are slow, at the price of early batches drawn from few shards.
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
  bool shuffle = true;         // false: shards and records in file order (evaluation)
  int64_t shuffle_buffer = 0;  // 0: a whole-epoch permutation; N: shard order + an N-record buffer (1: none)
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

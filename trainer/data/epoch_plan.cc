// Epoch planning: a whole-epoch permutation or an agreed shard order with a bounded shuffle buffer,
// cut into contiguous rank ranges.
#include "trainer/data/epoch_plan.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "trainer/common/random.h"

namespace kubecnn::data {
namespace {

constexpr uint64_t kShardOrderStream = 0x5348415244ULL;      // "SHARD"
constexpr uint64_t kRecordOrderStream = 0x5245434f5244ULL;   // "RECORD"
constexpr uint64_t kEpochPermutationStream = 0x5045524dULL;  // "PERM"

// The rank's range of a uniform permutation of all records, drawn identically on every rank
// (Fisher-Yates over 32-bit global indices), mapped back to (shard, record).
std::vector<RecordRef> PermutedRange(const std::vector<int64_t>& records_per_shard, int64_t total, RankRange range,
                                     const EpochPlanOptions& options) {
  if (total > static_cast<int64_t>(UINT32_MAX)) {
    throw std::invalid_argument(std::to_string(total) +
                                " records are too many for a whole-epoch permutation (use --shuffle_buffer=N)");
  }
  std::vector<uint32_t> order(static_cast<size_t>(total));
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(DeriveSeed(DeriveSeed(options.seed, kEpochPermutationStream), static_cast<uint64_t>(options.epoch)));
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);

  std::vector<int64_t> starts(records_per_shard.size() + 1, 0);  // global index of each shard's first record
  std::partial_sum(records_per_shard.begin(), records_per_shard.end(), starts.begin() + 1);
  std::vector<RecordRef> out;
  out.reserve(static_cast<size_t>(range.count));
  for (int64_t g = range.begin; g < range.begin + range.count; ++g) {
    const int64_t index = order[static_cast<size_t>(g)];
    // The last shard whose first record is <= index (empty shards share a start and are skipped).
    const auto shard = std::upper_bound(starts.begin(), starts.end(), index) - starts.begin() - 1;
    out.push_back({static_cast<int32_t>(shard), index - starts[static_cast<size_t>(shard)]});
  }
  return out;
}

}  // namespace

RankRange RangeForRank(int64_t total, int rank, int world) {
  if (world <= 0 || rank < 0 || rank >= world) {
    throw std::invalid_argument("rank " + std::to_string(rank) + " outside world of " + std::to_string(world));
  }
  // Exact integer cut points: begin(r) = floor(total * r / world).
  const auto cut = [&](int r) { return static_cast<int64_t>((static_cast<Int128>(total) * r) / world); };
  return {cut(rank), cut(rank + 1) - cut(rank)};
}

std::vector<int32_t> ShardOrder(int32_t num_shards, const EpochPlanOptions& options) {
  std::vector<int32_t> order(num_shards);
  std::iota(order.begin(), order.end(), 0);
  if (!options.shuffle) return order;
  Rng rng(DeriveSeed(DeriveSeed(options.seed, kShardOrderStream), static_cast<uint64_t>(options.epoch)));
  for (int32_t i = num_shards - 1; i > 0; --i) std::swap(order[i], order[rng.Below(static_cast<uint64_t>(i) + 1)]);
  return order;
}

std::vector<RecordRef> PlanEpoch(const std::vector<int64_t>& records_per_shard, const EpochPlanOptions& options) {
  const auto num_shards = static_cast<int32_t>(records_per_shard.size());
  const int64_t total = std::accumulate(records_per_shard.begin(), records_per_shard.end(), int64_t{0});
  const RankRange range = RangeForRank(total, options.rank, options.world);
  if (options.shuffle_buffer < 0)
    throw std::invalid_argument("shuffle buffer of " + std::to_string(options.shuffle_buffer) + " records");
  if (options.shuffle && options.shuffle_buffer == 0) return PermutedRange(records_per_shard, total, range, options);

  // Walk the shards in the epoch's order, keeping the part of the sequence in our range.
  std::vector<RecordRef> in_order;
  in_order.reserve(static_cast<size_t>(range.count));
  int64_t position = 0;
  for (const int32_t shard : ShardOrder(num_shards, options)) {
    const int64_t n = records_per_shard[shard];
    const int64_t lo = std::max(range.begin, position);
    const int64_t hi = std::min(range.begin + range.count, position + n);
    for (int64_t g = lo; g < hi; ++g) in_order.push_back({shard, g - position});
    position += n;
    if (position >= range.begin + range.count) break;
  }

  if (!options.shuffle || options.shuffle_buffer == 1) return in_order;

  // Shuffle buffer, as tf.data's: fill, then repeatedly emit a random slot and refill it.
  Rng rng(DeriveSeed(DeriveSeed(DeriveSeed(options.seed, kRecordOrderStream), static_cast<uint64_t>(options.epoch)),
                     static_cast<uint64_t>(options.rank)));
  std::vector<RecordRef> out;
  out.reserve(in_order.size());
  std::vector<RecordRef> buffer;
  const auto capacity = static_cast<size_t>(options.shuffle_buffer);
  buffer.reserve(std::min(capacity, in_order.size()));
  for (const RecordRef& ref : in_order) {
    if (buffer.size() < capacity) {
      buffer.push_back(ref);
      continue;
    }
    const size_t pick = rng.Below(buffer.size());
    out.push_back(buffer[pick]);
    buffer[pick] = ref;
  }
  while (!buffer.empty()) {
    const size_t pick = rng.Below(buffer.size());
    out.push_back(buffer[pick]);
    buffer[pick] = buffer.back();
    buffer.pop_back();
  }
  return out;
}

}  // namespace kubecnn::data

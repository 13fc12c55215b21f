// Epoch planning: agreed shard order, contiguous rank ranges, bounded shuffle buffer.
#include "trainer/data/epoch_plan.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "trainer/common/random.h"

namespace kubecnn::data {
namespace {

constexpr uint64_t kShardOrderStream = 0x5348415244ULL;     // "SHARD"
constexpr uint64_t kRecordOrderStream = 0x5245434f5244ULL;  // "RECORD"

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

  if (!options.shuffle || options.shuffle_buffer <= 1) return in_order;

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

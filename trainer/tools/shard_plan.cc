// Seeded shuffle and even slicing of the image list into shards.
#include "trainer/tools/shard_plan.h"

#include <numeric>
#include <utility>

#include "trainer/common/random.h"

namespace kubecnn::tools {

std::vector<size_t> ShuffledOrder(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  Rng rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  return order;
}

Slice ShardSlice(int shard, int num_shards, size_t n) {
  // shard * n stays far below 2^64: at most 99999 shards of a data set of fewer than 10^14 images.
  const uint64_t s = static_cast<uint64_t>(shard);
  const uint64_t k = static_cast<uint64_t>(num_shards);
  return {static_cast<size_t>(s * n / k), static_cast<size_t>((s + 1) * n / k)};
}

}  // namespace kubecnn::tools

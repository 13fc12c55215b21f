// Which image goes into which shard: a seeded shuffle, then contiguous equal slices (as
// inception's build_imagenet_data does), so every shard holds a mix of classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kubecnn::tools {

// A permutation of [0, n), a pure function of (n, seed): Fisher-Yates driven by kubecnn::Rng.
std::vector<size_t> ShuffledOrder(size_t n, uint64_t seed);

struct Slice {
  size_t begin = 0;
  size_t end = 0;  // exclusive
  size_t size() const { return end - begin; }
};

// Shard `shard` of `num_shards` over n items: consecutive, covering [0, n), sizes differ by at most one.
Slice ShardSlice(int shard, int num_shards, size_t n);

}  // namespace kubecnn::tools

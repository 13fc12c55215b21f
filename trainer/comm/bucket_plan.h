// Which gradients travel together: consecutive parameters packed into fusion buckets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kubecnn::comm {

struct GradientInfo {
  int64_t bytes = 0;  // of the gradient as it travels (after any compression)
  int dtype = 0;      // a bucket holds a single dtype
};

// Packs gradients, given in the order backward produces them (reverse registration order), into
// buckets of consecutive entries: a bucket closes before it would exceed the cap or when the dtype
// changes; a gradient larger than the cap travels alone. The cap is `threshold_bytes`, lowered to
// 1/`min_buckets` of all gradient bytes when that is smaller: with one 64 MiB bucket a ResNet-18
// (45 MiB) could start its all-reduce only after backward, with four it starts three of them
// during backward. threshold 0: one bucket per gradient. Returns indices into `gradients`, bucket
// by bucket.
std::vector<std::vector<size_t>> PlanBuckets(const std::vector<GradientInfo>& gradients, int64_t threshold_bytes,
                                             int min_buckets = 1);

}  // namespace kubecnn::comm

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
// buckets of consecutive entries: a bucket closes before it would exceed `threshold_bytes` or when
// the dtype changes; a gradient larger than the threshold travels alone. threshold 0: one bucket
// per gradient. Returns indices into `gradients`, bucket by bucket.
std::vector<std::vector<size_t>> PlanBuckets(const std::vector<GradientInfo>& gradients, int64_t threshold_bytes);

}  // namespace kubecnn::comm

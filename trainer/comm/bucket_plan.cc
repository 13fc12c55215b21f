// Fusion bucket planning (pure).
#include "trainer/comm/bucket_plan.h"

#include <algorithm>

namespace kubecnn::comm {

std::vector<std::vector<size_t>> PlanBuckets(const std::vector<GradientInfo>& gradients, int64_t threshold_bytes,
                                             int min_buckets) {
  int64_t total = 0;
  for (const GradientInfo& g : gradients) total += g.bytes;
  if (min_buckets > 1) threshold_bytes = std::min(threshold_bytes, (total + min_buckets - 1) / min_buckets);
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;
  for (size_t i = 0; i < gradients.size(); ++i) {
    const GradientInfo& g = gradients[i];
    const bool fits = !buckets.empty() && !buckets.back().empty() &&
                      gradients[buckets.back().front()].dtype == g.dtype && filled + g.bytes <= threshold_bytes;
    if (!fits) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(i);
    filled += g.bytes;
  }
  return buckets;
}

}  // namespace kubecnn::comm

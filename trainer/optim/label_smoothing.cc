// Label-smoothed cross-entropy from one log_softmax.
#include "trainer/optim/label_smoothing.h"

#include <stdexcept>
#include <string>

namespace kubecnn::optim {

torch::Tensor SmoothedCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels, double epsilon) {
  if (!(epsilon >= 0 && epsilon <= 1)) {
    throw std::invalid_argument("--label_smoothing=" + std::to_string(epsilon) + " must be within [0, 1]");
  }
  if (logits.dim() != 2 || labels.dim() != 1 || labels.size(0) != logits.size(0)) {
    throw std::invalid_argument("cross-entropy wants logits [N, C] and labels [N], got logits " +
                                c10::str(logits.sizes()) + " and labels " + c10::str(labels.sizes()));
  }
  const torch::Tensor log_probs = torch::log_softmax(logits.to(torch::kFloat32), /*dim=*/1);
  const torch::Tensor nll = -log_probs.gather(1, labels.to(torch::kInt64).unsqueeze(1)).squeeze(1);
  if (epsilon == 0) return nll.mean();
  const torch::Tensor uniform = -log_probs.mean(/*dim=*/1);
  return ((1.0 - epsilon) * nll + epsilon * uniform).mean();
}

}  // namespace kubecnn::optim

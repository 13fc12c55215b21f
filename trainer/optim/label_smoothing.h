// Cross-entropy with label smoothing (--label_smoothing), computed in fp32.
#pragma once

#include <torch/torch.h>

namespace kubecnn::optim {

// Mean over the batch of the cross-entropy between softmax(logits) and the smoothed target
// (1 - epsilon) * one_hot(label) + epsilon / C, for logits [N, C] and int64 labels [N] in [0, C):
//
//     loss_n = (1 - epsilon) * -log p_n[label_n] + epsilon * mean_c(-log p_n[c])
//
// the definition torch.nn.functional.cross_entropy(logits, labels, label_smoothing=epsilon) uses.
// Half or bfloat16 logits (from autocast) are upcast first, so the loss and its gradient are fp32.
// epsilon 0 is plain cross-entropy. Throws std::invalid_argument for epsilon outside [0, 1] or
// mismatched shapes; labels are not range-checked here (the data loader does that).
torch::Tensor SmoothedCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels, double epsilon);

}  // namespace kubecnn::optim

// Unscaling loss-scaled gradients in place with one fused inf/NaN check (the loss scaler's helper).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace kubecnn::optim {

// Multiplies every defined gradient by `inv_scale` (1 / LossScaler::scale()) in place and returns
// whether any of them held an inf or NaN. One fused kernel per (device, dtype) group
// (at::_amp_foreach_non_finite_check_and_unscale_, as torch.amp.GradScaler uses) and a single
// device-to-host read of the verdict. Undefined entries (parameters without gradient) are skipped.
// With inv_scale 1 it is a plain finiteness check, useful without loss scaling too.
bool UnscaleGradients(const std::vector<torch::Tensor>& grads, double inv_scale);

// The gradients of `params` (undefined where a parameter has none), for UnscaleGradients.
std::vector<torch::Tensor> GradientsOf(const std::vector<torch::Tensor>& params);

}  // namespace kubecnn::optim

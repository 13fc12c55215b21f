// Fused unscale + non-finite check of gradients, grouped by device and dtype.
#include "trainer/optim/unscale_grads.h"

#include <algorithm>
#include <stdexcept>

namespace kubecnn::optim {

bool UnscaleGradients(const std::vector<torch::Tensor>& grads, double inv_scale) {
  torch::NoGradGuard no_grad;
  struct Group {
    torch::Device device;
    torch::ScalarType dtype;
    std::vector<torch::Tensor> tensors;
  };
  std::vector<Group> groups;
  for (const torch::Tensor& g : grads) {
    if (!g.defined()) continue;
    if (g.is_sparse()) throw std::invalid_argument("unscaling gradients: sparse gradients are not supported");
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& group) {
      return group.device == g.device() && group.dtype == g.scalar_type();
    });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{g.device(), g.scalar_type(), {}});
    it->tensors.push_back(g);
  }
  if (groups.empty()) return false;
  std::vector<torch::Tensor> found;
  for (Group& group : groups) {
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(group.device);
    torch::Tensor found_inf = torch::zeros({1}, options);
    const torch::Tensor inv = torch::full({1}, inv_scale, options);
    at::_amp_foreach_non_finite_check_and_unscale_(group.tensors, found_inf, inv);
    found.push_back(found_inf.to(groups.front().device));
  }
  return torch::cat(found).sum().item<float>() > 0;
}

std::vector<torch::Tensor> GradientsOf(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const torch::Tensor& p : params) grads.push_back(p.grad());
  return grads;
}

}  // namespace kubecnn::optim

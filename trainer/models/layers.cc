// Shared blocks and initialisers (see layers.h).
#include "trainer/models/layers.h"

#include <cmath>

namespace kubecnn::models {

torch::Tensor TruncNormal_(torch::Tensor tensor, double mean, double std, double a, double b) {
  // Mirrors torch/nn/init.py _no_grad_trunc_normal_ step by step.
  torch::NoGradGuard no_grad;
  auto norm_cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double l = norm_cdf((a - mean) / std);
  const double u = norm_cdf((b - mean) / std);
  tensor.uniform_(2 * l - 1, 2 * u - 1);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0));
  tensor.add_(mean);
  tensor.clamp_(a, b);
  return tensor;
}

BasicConv2dImpl::BasicConv2dImpl(torch::nn::Conv2dOptions options) {
  const int64_t out_channels = options.out_channels();
  conv = register_module("conv", torch::nn::Conv2d(options.bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out_channels).eps(0.001)));
}

torch::Tensor BasicConv2dImpl::forward(const torch::Tensor& x) { return bn(conv(x)).relu_(); }

torch::nn::Conv2dOptions Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding);
}

torch::Tensor TransformInputToTensorFlowScale(const torch::Tensor& x) {
  // Per channel: x * (std / 0.5) + (mean - 0.5) / 0.5, written as in torchvision.
  auto ch0 = x.select(1, 0).unsqueeze(1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5;
  auto ch1 = x.select(1, 1).unsqueeze(1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5;
  auto ch2 = x.select(1, 2).unsqueeze(1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5;
  return torch::cat({ch0, ch1, ch2}, 1);
}

}  // namespace kubecnn::models

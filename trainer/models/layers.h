// Building blocks and initialisers shared by the model families, written to match torchvision.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace kubecnn::models {

// torch.nn.init.trunc_normal_: normal(mean, std) truncated to [a, b] (absolute bounds), drawn by
// inverse CDF from one uniform_ call, as Python does, so a seed gives the same values there and here.
torch::Tensor TruncNormal_(torch::Tensor tensor, double mean, double std, double a, double b);

// Conv (no bias) + BatchNorm(eps=0.001) + ReLU: torchvision's BasicConv2d of Inception v3 and
// GoogLeNet. State-dict keys: conv.weight, bn.{weight,bias,running_mean,running_var,num_batches_tracked}.
class BasicConv2dImpl : public torch::nn::Module {
 public:
  explicit BasicConv2dImpl(torch::nn::Conv2dOptions options);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(BasicConv2d);

// Square-kernel convolution options, as torchvision spells them inline.
torch::nn::Conv2dOptions Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);

// Rescales ImageNet-normalised images to the [-1, 1] input of weights ported from TensorFlow
// (torchvision's transform_input of Inception v3 and GoogLeNet).
torch::Tensor TransformInputToTensorFlowScale(const torch::Tensor& x);

}  // namespace kubecnn::models

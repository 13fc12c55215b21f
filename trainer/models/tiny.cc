// TinyNet (see tiny.h).
#include "trainer/models/tiny.h"

namespace kubecnn::models {

TinyNet::TinyNet(const ModelSpec& spec, bool batch_norm) : Model(spec.name) {
  features_ = torch::nn::Sequential();
  int64_t in_channels = 3;
  for (const int64_t out_channels : {8, 16, 32}) {
    features_->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in_channels, out_channels, 3).stride(2).padding(1).bias(!batch_norm)));
    if (batch_norm) features_->push_back(torch::nn::BatchNorm2d(out_channels));
    features_->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    in_channels = out_channels;
  }
  register_module("features", features_);
  fc_ = register_module("fc", torch::nn::Linear(in_channels, spec.num_classes));

  if (!spec.init_weights) return;
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    }
  }
}

ModelOutput TinyNet::Forward(const torch::Tensor& images) {
  torch::Tensor x = torch::adaptive_avg_pool2d(features_->forward(images), {1, 1}).flatten(1);
  return {fc_(x), {}};
}

}  // namespace kubecnn::models

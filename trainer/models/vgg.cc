// VGG (see vgg.h), following torchvision/models/vgg.py.
#include "trainer/models/vgg.h"

#include <stdexcept>
#include <string>

namespace kubecnn::models {

VggConfig VggConfigFor(int depth, bool batch_norm) {
  constexpr int64_t M = 0;
  switch (depth) {
    case 11: return {{64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}, batch_norm};
    case 13: return {{64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}, batch_norm};
    case 16: return {{64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M}, batch_norm};
    case 19:
      return {{64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M},
              batch_norm};
  }
  throw std::invalid_argument("VGG depth must be 11, 13, 16 or 19, got " + std::to_string(depth));
}

Vgg::Vgg(const VggConfig& config, const ModelSpec& spec) : Model(spec.name) {
  features_ = torch::nn::Sequential();
  int64_t in_channels = 3;
  for (const int64_t v : config.layers) {
    if (v == 0) {
      features_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
      continue;
    }
    features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, v, 3).padding(1)));
    if (config.batch_norm) features_->push_back(torch::nn::BatchNorm2d(v));
    features_->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    in_channels = v;
  }
  register_module("features", features_);
  // Indices 0, 3 and 6 are the linear layers, as in torchvision's state dict.
  classifier_ = register_module(
      "classifier",
      torch::nn::Sequential(torch::nn::Linear(512 * 7 * 7, 4096),
                            torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)), torch::nn::Dropout(0.5),
                            torch::nn::Linear(4096, 4096), torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)),
                            torch::nn::Dropout(0.5), torch::nn::Linear(4096, spec.num_classes)));

  if (!spec.init_weights) return;
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      conv->bias.zero_();
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0, 0.01);
      linear->bias.zero_();
    }
  }
}

ModelOutput Vgg::Forward(const torch::Tensor& images) {
  torch::Tensor x = features_->forward(images);
  x = torch::adaptive_avg_pool2d(x, {7, 7}).flatten(1);
  return {classifier_->forward(x), {}};
}

}  // namespace kubecnn::models

// GoogLeNet (see googlenet.h), following torchvision/models/googlenet.py.
#include "trainer/models/googlenet.h"

namespace kubecnn::models {
namespace {

torch::Tensor MaxPoolCeil(const torch::Tensor& x, int64_t kernel, int64_t stride) {
  return torch::max_pool2d(x, kernel, stride, /*padding=*/0, /*dilation=*/1, /*ceil_mode=*/true);
}

}  // namespace

InceptionBlockImpl::InceptionBlockImpl(int64_t in_channels, int64_t ch1x1, int64_t ch3x3red, int64_t ch3x3,
                                       int64_t ch5x5red, int64_t ch5x5, int64_t pool_proj) {
  branch1 = register_module("branch1", BasicConv2d(Conv(in_channels, ch1x1, 1)));
  branch2 = register_module("branch2", torch::nn::Sequential(BasicConv2d(Conv(in_channels, ch3x3red, 1)),
                                                             BasicConv2d(Conv(ch3x3red, ch3x3, 3, 1, 1))));
  // torchvision's "5x5" branch uses a 3x3 kernel (a known slip kept for weight compatibility).
  branch3 = register_module("branch3", torch::nn::Sequential(BasicConv2d(Conv(in_channels, ch5x5red, 1)),
                                                             BasicConv2d(Conv(ch5x5red, ch5x5, 3, 1, 1))));
  branch4 = register_module(
      "branch4",
      torch::nn::Sequential(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(1).padding(1).ceil_mode(true)),
                            BasicConv2d(Conv(in_channels, pool_proj, 1))));
}

torch::Tensor InceptionBlockImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch1(x), branch2->forward(x), branch3->forward(x), branch4->forward(x)}, 1);
}

GoogLeNetAuxImpl::GoogLeNetAuxImpl(int64_t in_channels, int64_t num_classes, double dropout_p) {
  conv = register_module("conv", BasicConv2d(Conv(in_channels, 128, 1)));
  fc1 = register_module("fc1", torch::nn::Linear(2048, 1024));
  fc2 = register_module("fc2", torch::nn::Linear(1024, num_classes));
  dropout = register_module("dropout", torch::nn::Dropout(dropout_p));
}

torch::Tensor GoogLeNetAuxImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv(torch::adaptive_avg_pool2d(x, {4, 4})).flatten(1);
  y = fc1(y).relu_();
  return fc2(dropout(y));
}

GoogLeNet::GoogLeNet(const ModelSpec& spec) : Model(spec.name), transform_input_(spec.transform_input) {
  conv1_ = register_module("conv1", BasicConv2d(Conv(3, 64, 7, 2, 3)));
  conv2_ = register_module("conv2", BasicConv2d(Conv(64, 64, 1)));
  conv3_ = register_module("conv3", BasicConv2d(Conv(64, 192, 3, 1, 1)));
  inception3a_ = register_module("inception3a", InceptionBlock(192, 64, 96, 128, 16, 32, 32));
  inception3b_ = register_module("inception3b", InceptionBlock(256, 128, 128, 192, 32, 96, 64));
  inception4a_ = register_module("inception4a", InceptionBlock(480, 192, 96, 208, 16, 48, 64));
  inception4b_ = register_module("inception4b", InceptionBlock(512, 160, 112, 224, 24, 64, 64));
  inception4c_ = register_module("inception4c", InceptionBlock(512, 128, 128, 256, 24, 64, 64));
  inception4d_ = register_module("inception4d", InceptionBlock(512, 112, 144, 288, 32, 64, 64));
  inception4e_ = register_module("inception4e", InceptionBlock(528, 256, 160, 320, 32, 128, 128));
  inception5a_ = register_module("inception5a", InceptionBlock(832, 256, 160, 320, 32, 128, 128));
  inception5b_ = register_module("inception5b", InceptionBlock(832, 384, 192, 384, 48, 128, 128));
  if (spec.aux_logits) {
    aux1_ = register_module("aux1", GoogLeNetAux(512, spec.num_classes, 0.7));
    aux2_ = register_module("aux2", GoogLeNetAux(528, spec.num_classes, 0.7));
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(0.2));
  fc_ = register_module("fc", torch::nn::Linear(1024, spec.num_classes));

  // torchvision: truncated normal (std 0.01, bounds +-2) for conv and linear weights.
  if (!spec.init_weights) return;
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      TruncNormal_(conv->weight, 0.0, 0.01, -2, 2);
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      TruncNormal_(linear->weight, 0.0, 0.01, -2, 2);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
}

ModelOutput GoogLeNet::Forward(const torch::Tensor& images) {
  torch::Tensor x = transform_input_ ? TransformInputToTensorFlowScale(images) : images;
  x = MaxPoolCeil(conv1_(x), 3, 2);
  x = MaxPoolCeil(conv3_(conv2_(x)), 3, 2);
  x = MaxPoolCeil(inception3b_(inception3a_(x)), 3, 2);
  x = inception4a_(x);
  ModelOutput out;
  const bool aux = aux1_ && is_training();
  if (aux) out.aux_logits.push_back(aux1_(x));
  x = inception4d_(inception4c_(inception4b_(x)));
  if (aux) out.aux_logits.push_back(aux2_(x));
  x = MaxPoolCeil(inception4e_(x), 2, 2);
  x = inception5b_(inception5a_(x));
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  out.logits = fc_(dropout_(x));
  return out;
}

}  // namespace kubecnn::models

// Inception v3 (see inception3.h), following torchvision/models/inception.py block by block.
#include "trainer/models/inception3.h"

namespace kubecnn::models {
namespace {

// Asymmetric (1xn / nx1) convolutions of the factorised branches.
torch::nn::Conv2dOptions ConvHW(int64_t in, int64_t out, int64_t kh, int64_t kw, int64_t ph, int64_t pw) {
  return torch::nn::Conv2dOptions(in, out, {kh, kw}).padding({ph, pw});
}

torch::Tensor AvgPool3x3Same(const torch::Tensor& x) {
  return torch::avg_pool2d(x, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1);
}

}  // namespace

InceptionAImpl::InceptionAImpl(int64_t in_channels, int64_t pool_features) {
  branch1x1 = register_module("branch1x1", BasicConv2d(Conv(in_channels, 64, 1)));
  branch5x5_1 = register_module("branch5x5_1", BasicConv2d(Conv(in_channels, 48, 1)));
  branch5x5_2 = register_module("branch5x5_2", BasicConv2d(Conv(48, 64, 5, 1, 2)));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(Conv(in_channels, 64, 1)));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(Conv(64, 96, 3, 1, 1)));
  branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv2d(Conv(96, 96, 3, 1, 1)));
  branch_pool = register_module("branch_pool", BasicConv2d(Conv(in_channels, pool_features, 1)));
}

torch::Tensor InceptionAImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch1x1(x), branch5x5_2(branch5x5_1(x)), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))),
                     branch_pool(AvgPool3x3Same(x))},
                    1);
}

InceptionBImpl::InceptionBImpl(int64_t in_channels) {
  branch3x3 = register_module("branch3x3", BasicConv2d(Conv(in_channels, 384, 3, 2)));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(Conv(in_channels, 64, 1)));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(Conv(64, 96, 3, 1, 1)));
  branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv2d(Conv(96, 96, 3, 2)));
}

torch::Tensor InceptionBImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch3x3(x), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))), torch::max_pool2d(x, 3, 2)}, 1);
}

InceptionCImpl::InceptionCImpl(int64_t in_channels, int64_t c7) {
  branch1x1 = register_module("branch1x1", BasicConv2d(Conv(in_channels, 192, 1)));
  branch7x7_1 = register_module("branch7x7_1", BasicConv2d(Conv(in_channels, c7, 1)));
  branch7x7_2 = register_module("branch7x7_2", BasicConv2d(ConvHW(c7, c7, 1, 7, 0, 3)));
  branch7x7_3 = register_module("branch7x7_3", BasicConv2d(ConvHW(c7, 192, 7, 1, 3, 0)));
  branch7x7dbl_1 = register_module("branch7x7dbl_1", BasicConv2d(Conv(in_channels, c7, 1)));
  branch7x7dbl_2 = register_module("branch7x7dbl_2", BasicConv2d(ConvHW(c7, c7, 7, 1, 3, 0)));
  branch7x7dbl_3 = register_module("branch7x7dbl_3", BasicConv2d(ConvHW(c7, c7, 1, 7, 0, 3)));
  branch7x7dbl_4 = register_module("branch7x7dbl_4", BasicConv2d(ConvHW(c7, c7, 7, 1, 3, 0)));
  branch7x7dbl_5 = register_module("branch7x7dbl_5", BasicConv2d(ConvHW(c7, 192, 1, 7, 0, 3)));
  branch_pool = register_module("branch_pool", BasicConv2d(Conv(in_channels, 192, 1)));
}

torch::Tensor InceptionCImpl::forward(const torch::Tensor& x) {
  torch::Tensor b7 = branch7x7_3(branch7x7_2(branch7x7_1(x)));
  torch::Tensor b7dbl = branch7x7dbl_5(branch7x7dbl_4(branch7x7dbl_3(branch7x7dbl_2(branch7x7dbl_1(x)))));
  return torch::cat({branch1x1(x), b7, b7dbl, branch_pool(AvgPool3x3Same(x))}, 1);
}

InceptionDImpl::InceptionDImpl(int64_t in_channels) {
  branch3x3_1 = register_module("branch3x3_1", BasicConv2d(Conv(in_channels, 192, 1)));
  branch3x3_2 = register_module("branch3x3_2", BasicConv2d(Conv(192, 320, 3, 2)));
  branch7x7x3_1 = register_module("branch7x7x3_1", BasicConv2d(Conv(in_channels, 192, 1)));
  branch7x7x3_2 = register_module("branch7x7x3_2", BasicConv2d(ConvHW(192, 192, 1, 7, 0, 3)));
  branch7x7x3_3 = register_module("branch7x7x3_3", BasicConv2d(ConvHW(192, 192, 7, 1, 3, 0)));
  branch7x7x3_4 = register_module("branch7x7x3_4", BasicConv2d(Conv(192, 192, 3, 2)));
}

torch::Tensor InceptionDImpl::forward(const torch::Tensor& x) {
  torch::Tensor b3 = branch3x3_2(branch3x3_1(x));
  torch::Tensor b7 = branch7x7x3_4(branch7x7x3_3(branch7x7x3_2(branch7x7x3_1(x))));
  return torch::cat({b3, b7, torch::max_pool2d(x, 3, 2)}, 1);
}

InceptionEImpl::InceptionEImpl(int64_t in_channels) {
  branch1x1 = register_module("branch1x1", BasicConv2d(Conv(in_channels, 320, 1)));
  branch3x3_1 = register_module("branch3x3_1", BasicConv2d(Conv(in_channels, 384, 1)));
  branch3x3_2a = register_module("branch3x3_2a", BasicConv2d(ConvHW(384, 384, 1, 3, 0, 1)));
  branch3x3_2b = register_module("branch3x3_2b", BasicConv2d(ConvHW(384, 384, 3, 1, 1, 0)));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(Conv(in_channels, 448, 1)));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(Conv(448, 384, 3, 1, 1)));
  branch3x3dbl_3a = register_module("branch3x3dbl_3a", BasicConv2d(ConvHW(384, 384, 1, 3, 0, 1)));
  branch3x3dbl_3b = register_module("branch3x3dbl_3b", BasicConv2d(ConvHW(384, 384, 3, 1, 1, 0)));
  branch_pool = register_module("branch_pool", BasicConv2d(Conv(in_channels, 192, 1)));
}

torch::Tensor InceptionEImpl::forward(const torch::Tensor& x) {
  torch::Tensor b3 = branch3x3_1(x);
  b3 = torch::cat({branch3x3_2a(b3), branch3x3_2b(b3)}, 1);
  torch::Tensor b3dbl = branch3x3dbl_2(branch3x3dbl_1(x));
  b3dbl = torch::cat({branch3x3dbl_3a(b3dbl), branch3x3dbl_3b(b3dbl)}, 1);
  return torch::cat({branch1x1(x), b3, b3dbl, branch_pool(AvgPool3x3Same(x))}, 1);
}

InceptionAuxImpl::InceptionAuxImpl(int64_t in_channels, int64_t num_classes) {
  conv0 = register_module("conv0", BasicConv2d(Conv(in_channels, 128, 1)));
  conv1 = register_module("conv1", BasicConv2d(Conv(128, 768, 5)));
  fc = register_module("fc", torch::nn::Linear(768, num_classes));
}

torch::Tensor InceptionAuxImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::avg_pool2d(x, /*kernel_size=*/5, /*stride=*/3);
  y = conv1(conv0(y));
  y = torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
  return fc(y);
}

Inception3::Inception3(const ModelSpec& spec) : Model(spec.name), transform_input_(spec.transform_input) {
  conv2d_1a_3x3_ = register_module("Conv2d_1a_3x3", BasicConv2d(Conv(3, 32, 3, 2)));
  conv2d_2a_3x3_ = register_module("Conv2d_2a_3x3", BasicConv2d(Conv(32, 32, 3)));
  conv2d_2b_3x3_ = register_module("Conv2d_2b_3x3", BasicConv2d(Conv(32, 64, 3, 1, 1)));
  conv2d_3b_1x1_ = register_module("Conv2d_3b_1x1", BasicConv2d(Conv(64, 80, 1)));
  conv2d_4a_3x3_ = register_module("Conv2d_4a_3x3", BasicConv2d(Conv(80, 192, 3)));
  mixed_5b_ = register_module("Mixed_5b", InceptionA(192, 32));
  mixed_5c_ = register_module("Mixed_5c", InceptionA(256, 64));
  mixed_5d_ = register_module("Mixed_5d", InceptionA(288, 64));
  mixed_6a_ = register_module("Mixed_6a", InceptionB(288));
  mixed_6b_ = register_module("Mixed_6b", InceptionC(768, 128));
  mixed_6c_ = register_module("Mixed_6c", InceptionC(768, 160));
  mixed_6d_ = register_module("Mixed_6d", InceptionC(768, 160));
  mixed_6e_ = register_module("Mixed_6e", InceptionC(768, 192));
  if (spec.aux_logits) aux_logits_ = register_module("AuxLogits", InceptionAux(768, spec.num_classes));
  mixed_7a_ = register_module("Mixed_7a", InceptionD(768));
  mixed_7b_ = register_module("Mixed_7b", InceptionE(1280));
  mixed_7c_ = register_module("Mixed_7c", InceptionE(2048));
  dropout_ = register_module("dropout", torch::nn::Dropout(0.5));
  fc_ = register_module("fc", torch::nn::Linear(2048, spec.num_classes));

  // torchvision: truncated normal (std 0.1, bounds +-2) for every conv and linear weight, except
  // the aux head's fc (std 0.001). torchvision also tags AuxLogits.conv1 with stddev 0.01, but on
  // the BasicConv2d rather than its Conv2d, so that conv gets 0.1 there too; we do the same.
  if (!spec.init_weights) return;
  torch::NoGradGuard no_grad;
  const torch::nn::Module* aux_fc = aux_logits_ ? aux_logits_->fc.get() : nullptr;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      TruncNormal_(conv->weight, 0.0, 0.1, -2, 2);
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      TruncNormal_(linear->weight, 0.0, linear == aux_fc ? 0.001 : 0.1, -2, 2);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
}

ModelOutput Inception3::Forward(const torch::Tensor& images) {
  torch::Tensor x = transform_input_ ? TransformInputToTensorFlowScale(images) : images;
  x = conv2d_2b_3x3_(conv2d_2a_3x3_(conv2d_1a_3x3_(x)));
  x = torch::max_pool2d(x, 3, 2);
  x = conv2d_4a_3x3_(conv2d_3b_1x1_(x));
  x = torch::max_pool2d(x, 3, 2);
  x = mixed_5d_(mixed_5c_(mixed_5b_(x)));
  x = mixed_6e_(mixed_6d_(mixed_6c_(mixed_6b_(mixed_6a_(x)))));
  ModelOutput out;
  if (aux_logits_ && is_training()) out.aux_logits.push_back(aux_logits_(x));
  x = mixed_7c_(mixed_7b_(mixed_7a_(x)));
  x = torch::adaptive_avg_pool2d(x, {1, 1});
  x = dropout_(x).flatten(1);
  out.logits = fc_(x);
  return out;
}

}  // namespace kubecnn::models

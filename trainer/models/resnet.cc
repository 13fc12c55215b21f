// ResNet / ResNeXt (see resnet.h). Modules are created in torchvision's order (each stage's
// downsample before its first block) so a seed draws the same random numbers as in Python.
#include "trainer/models/resnet.h"

namespace kubecnn::models {
namespace {

torch::nn::Conv2d Conv3x3(int64_t in, int64_t out, int64_t stride = 1, int64_t groups = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).groups(groups).bias(false));
}

torch::nn::Conv2d Conv1x1(int64_t in, int64_t out, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride, torch::nn::Sequential downsample_in) {
  conv1 = register_module("conv1", Conv3x3(inplanes, planes, stride));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", Conv3x3(planes, planes));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  if (downsample_in) downsample = register_module("downsample", downsample_in);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = bn1(conv1(x)).relu_();
  out = bn2(conv2(out));
  out += downsample ? downsample->forward(x) : x;
  return torch::relu_(out);
}

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, torch::nn::Sequential downsample_in,
                               int64_t groups, int64_t base_width) {
  const int64_t width = static_cast<int64_t>(planes * (base_width / 64.0)) * groups;
  conv1 = register_module("conv1", Conv1x1(inplanes, width));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(width));
  conv2 = register_module("conv2", Conv3x3(width, width, stride, groups));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(width));
  conv3 = register_module("conv3", Conv1x1(width, planes * kExpansion));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(planes * kExpansion));
  if (downsample_in) downsample = register_module("downsample", downsample_in);
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = bn1(conv1(x)).relu_();
  out = bn2(conv2(out)).relu_();
  out = bn3(conv3(out));
  out += downsample ? downsample->forward(x) : x;
  return torch::relu_(out);
}

ResNet::ResNet(const ResNetConfig& config, const ModelSpec& spec) : Model(spec.name) {
  conv1_ =
      register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(64));
  layer1_ = register_module("layer1", MakeStage(config, 64, config.layers[0], 1));
  layer2_ = register_module("layer2", MakeStage(config, 128, config.layers[1], 2));
  layer3_ = register_module("layer3", MakeStage(config, 256, config.layers[2], 2));
  layer4_ = register_module("layer4", MakeStage(config, 512, config.layers[3], 2));
  const int64_t expansion = config.block == ResidualBlock::kBasic ? 1 : BottleneckImpl::kExpansion;
  fc_ = register_module("fc", torch::nn::Linear(512 * expansion, spec.num_classes));

  if (!spec.init_weights) return;
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
  if (spec.zero_init_residual) {
    // Each residual branch starts as identity, which helps large-batch training (Goyal et al.).
    for (const auto& module : modules(/*include_self=*/false)) {
      if (auto* block = module->as<Bottleneck>()) block->bn3->weight.zero_();
      if (auto* block = module->as<BasicBlock>()) block->bn2->weight.zero_();
    }
  }
}

torch::nn::Sequential ResNet::MakeStage(const ResNetConfig& config, int64_t planes, int64_t blocks, int64_t stride) {
  const int64_t expansion = config.block == ResidualBlock::kBasic ? 1 : BottleneckImpl::kExpansion;
  torch::nn::Sequential downsample{nullptr};
  if (stride != 1 || inplanes_ != planes * expansion) {
    downsample = torch::nn::Sequential(Conv1x1(inplanes_, planes * expansion, stride),
                                       torch::nn::BatchNorm2d(planes * expansion));
  }
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t block_stride = i == 0 ? stride : 1;
    torch::nn::Sequential block_downsample = i == 0 ? downsample : torch::nn::Sequential{nullptr};
    if (config.block == ResidualBlock::kBasic) {
      stage->push_back(BasicBlock(inplanes_, planes, block_stride, block_downsample));
    } else {
      stage->push_back(
          Bottleneck(inplanes_, planes, block_stride, block_downsample, config.groups, config.width_per_group));
    }
    inplanes_ = planes * expansion;
  }
  return stage;
}

ModelOutput ResNet::Forward(const torch::Tensor& images) {
  torch::Tensor x = bn1_(conv1_(images)).relu_();
  x = torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);
  x = layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(x))));
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return {fc_(x), {}};
}

}  // namespace kubecnn::models

// ResNet v1.5 (stride on the bottleneck's 3x3 conv) and ResNeXt, module for module as torchvision.
#pragma once

#include <array>
#include <cstdint>

#include "trainer/models/model.h"

namespace kubecnn::models {

enum class ResidualBlock { kBasic, kBottleneck };

struct ResNetConfig {
  ResidualBlock block = ResidualBlock::kBottleneck;
  std::array<int64_t, 4> layers = {3, 4, 6, 3};  // blocks per stage
  int64_t groups = 1;                            // ResNeXt cardinality
  int64_t width_per_group = 64;                  // ResNeXt bottleneck width per group
};

// conv3x3 + BN + ReLU + conv3x3 + BN, plus the shortcut (resnet18/34).
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride, torch::nn::Sequential downsample);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

// conv1x1 + conv3x3 (strided, grouped) + conv1x1 with BN after each, plus the shortcut.
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, torch::nn::Sequential downsample, int64_t groups,
                 int64_t base_width);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

class ResNet : public Model {
 public:
  ResNet(const ResNetConfig& config, const ModelSpec& spec);
  ModelOutput Forward(const torch::Tensor& images) override;
  std::vector<std::string> ClassifierPrefixes() const override { return {"fc."}; }

 private:
  torch::nn::Sequential MakeStage(const ResNetConfig& config, int64_t planes, int64_t blocks, int64_t stride);

  int64_t inplanes_ = 64;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace kubecnn::models

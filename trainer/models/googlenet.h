// GoogLeNet (Inception v1, with BatchNorm) and its two optional auxiliary heads, as torchvision.
#pragma once

#include "trainer/models/layers.h"
#include "trainer/models/model.h"

namespace kubecnn::models {

// Four parallel branches (1x1; 1x1->3x3; 1x1->3x3; maxpool->1x1) concatenated on channels.
class InceptionBlockImpl : public torch::nn::Module {
 public:
  InceptionBlockImpl(int64_t in_channels, int64_t ch1x1, int64_t ch3x3red, int64_t ch3x3, int64_t ch5x5red,
                     int64_t ch5x5, int64_t pool_proj);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch1{nullptr};
  torch::nn::Sequential branch2{nullptr}, branch3{nullptr}, branch4{nullptr};
};
TORCH_MODULE(InceptionBlock);

// Auxiliary classifier: 4x4 pool, 1x1 conv, two linear layers (training only).
class GoogLeNetAuxImpl : public torch::nn::Module {
 public:
  GoogLeNetAuxImpl(int64_t in_channels, int64_t num_classes, double dropout);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d conv{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(GoogLeNetAux);

class GoogLeNet : public Model {
 public:
  explicit GoogLeNet(const ModelSpec& spec);
  ModelOutput Forward(const torch::Tensor& images) override;
  std::vector<std::string> ClassifierPrefixes() const override { return {"fc.", "aux1.fc2.", "aux2.fc2."}; }
  std::vector<std::string> AuxHeadPrefixes() const override { return {"aux1.", "aux2."}; }

 private:
  bool transform_input_;
  BasicConv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  InceptionBlock inception3a_{nullptr}, inception3b_{nullptr}, inception4a_{nullptr}, inception4b_{nullptr},
      inception4c_{nullptr}, inception4d_{nullptr}, inception4e_{nullptr}, inception5a_{nullptr}, inception5b_{nullptr};
  GoogLeNetAux aux1_{nullptr}, aux2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace kubecnn::models

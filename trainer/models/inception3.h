// Inception v3 (299x299 input) with the optional auxiliary head, module for module as torchvision.
#pragma once

#include "trainer/models/layers.h"
#include "trainer/models/model.h"

namespace kubecnn::models {

// 35x35 grid: 1x1, 5x5, double 3x3 and pooled branches.
class InceptionAImpl : public torch::nn::Module {
 public:
  InceptionAImpl(int64_t in_channels, int64_t pool_features);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch1x1{nullptr}, branch5x5_1{nullptr}, branch5x5_2{nullptr}, branch3x3dbl_1{nullptr},
      branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr}, branch_pool{nullptr};
};
TORCH_MODULE(InceptionA);

// 35x35 -> 17x17 grid reduction.
class InceptionBImpl : public torch::nn::Module {
 public:
  explicit InceptionBImpl(int64_t in_channels);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch3x3{nullptr}, branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr};
};
TORCH_MODULE(InceptionB);

// 17x17 grid: factorised 7x7 branches.
class InceptionCImpl : public torch::nn::Module {
 public:
  InceptionCImpl(int64_t in_channels, int64_t channels_7x7);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch1x1{nullptr}, branch7x7_1{nullptr}, branch7x7_2{nullptr}, branch7x7_3{nullptr},
      branch7x7dbl_1{nullptr}, branch7x7dbl_2{nullptr}, branch7x7dbl_3{nullptr}, branch7x7dbl_4{nullptr},
      branch7x7dbl_5{nullptr}, branch_pool{nullptr};
};
TORCH_MODULE(InceptionC);

// 17x17 -> 8x8 grid reduction.
class InceptionDImpl : public torch::nn::Module {
 public:
  explicit InceptionDImpl(int64_t in_channels);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch3x3_1{nullptr}, branch3x3_2{nullptr}, branch7x7x3_1{nullptr}, branch7x7x3_2{nullptr},
      branch7x7x3_3{nullptr}, branch7x7x3_4{nullptr};
};
TORCH_MODULE(InceptionD);

// 8x8 grid: expanded filter bank.
class InceptionEImpl : public torch::nn::Module {
 public:
  explicit InceptionEImpl(int64_t in_channels);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch1x1{nullptr}, branch3x3_1{nullptr}, branch3x3_2a{nullptr}, branch3x3_2b{nullptr},
      branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3a{nullptr}, branch3x3dbl_3b{nullptr},
      branch_pool{nullptr};
};
TORCH_MODULE(InceptionE);

// Auxiliary classifier on the 17x17 grid (training only).
class InceptionAuxImpl : public torch::nn::Module {
 public:
  InceptionAuxImpl(int64_t in_channels, int64_t num_classes);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d conv0{nullptr}, conv1{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(InceptionAux);

class Inception3 : public Model {
 public:
  explicit Inception3(const ModelSpec& spec);
  ModelOutput Forward(const torch::Tensor& images) override;
  std::vector<std::string> ClassifierPrefixes() const override { return {"fc.", "AuxLogits.fc."}; }
  std::vector<std::string> AuxHeadPrefixes() const override { return {"AuxLogits."}; }

 private:
  bool transform_input_;
  BasicConv2d conv2d_1a_3x3_{nullptr}, conv2d_2a_3x3_{nullptr}, conv2d_2b_3x3_{nullptr}, conv2d_3b_1x1_{nullptr},
      conv2d_4a_3x3_{nullptr};
  InceptionA mixed_5b_{nullptr}, mixed_5c_{nullptr}, mixed_5d_{nullptr};
  InceptionB mixed_6a_{nullptr};
  InceptionC mixed_6b_{nullptr}, mixed_6c_{nullptr}, mixed_6d_{nullptr}, mixed_6e_{nullptr};
  InceptionAux aux_logits_{nullptr};
  InceptionD mixed_7a_{nullptr};
  InceptionE mixed_7b_{nullptr}, mixed_7c_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace kubecnn::models

// VGG 11/13/16/19 with and without BatchNorm, module for module as torchvision.
#pragma once

#include <vector>

#include "trainer/models/model.h"

namespace kubecnn::models {

struct VggConfig {
  // Output channels of each 3x3 conv; 0 marks a 2x2 max pool (torchvision's "M").
  std::vector<int64_t> layers;
  bool batch_norm = false;
};

// Depth 11, 13, 16 or 19 (torchvision's configurations A, B, D, E); throws otherwise.
VggConfig VggConfigFor(int depth, bool batch_norm);

class Vgg : public Model {
 public:
  Vgg(const VggConfig& config, const ModelSpec& spec);
  ModelOutput Forward(const torch::Tensor& images) override;
  std::vector<std::string> ClassifierPrefixes() const override { return {"classifier.6."}; }

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
};

}  // namespace kubecnn::models

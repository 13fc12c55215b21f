// A tiny convolutional net (a few thousand parameters) for tests, with and without BatchNorm.
#pragma once

#include "trainer/models/model.h"

namespace kubecnn::models {

// Three strided 3x3 convs (8, 16, 32 channels) + ReLU, global average pool, linear classifier.
// With batch_norm each conv is followed by BatchNorm and has no bias; without it (tiny_nobn)
// the net has no running statistics, so replicas stay identical from gradients alone — what
// distributed tests need.
class TinyNet : public Model {
 public:
  TinyNet(const ModelSpec& spec, bool batch_norm);
  ModelOutput Forward(const torch::Tensor& images) override;
  std::vector<std::string> ClassifierPrefixes() const override { return {"fc."}; }

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace kubecnn::models

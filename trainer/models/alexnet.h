// AlexNet (the "one weird trick" variant torchvision ships), module for module as torchvision.
#pragma once

#include "trainer/models/model.h"

namespace kubecnn::models {

class AlexNet : public Model {
 public:
  explicit AlexNet(const ModelSpec& spec);
  ModelOutput Forward(const torch::Tensor& images) override;
  std::vector<std::string> ClassifierPrefixes() const override { return {"classifier.6."}; }

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
};

}  // namespace kubecnn::models

// The interface every network implements, and the spec the registry builds one from.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kubecnn::models {

struct ModelOutput {
  torch::Tensor logits;  // [N, num_classes]
  // Auxiliary classifier heads, shallowest first (googlenet: aux1, aux2; inception3: AuxLogits).
  // Filled only in train mode and only when the model was built with aux_logits.
  std::vector<torch::Tensor> aux_logits;
};

struct ModelSpec {
  std::string name;  // "resnet50", "inception3", ... (see ListModels())
  int64_t num_classes = 1000;
  bool aux_logits = false;          // inception3 / googlenet: build the auxiliary heads
  bool zero_init_residual = false;  // resnet family: last BN gamma of each block starts at 0
  // inception3 / googlenet: map ImageNet-normalised input to the [-1, 1] scale the weights ported
  // from TensorFlow expect (torchvision turns this on when it loads its pretrained weights).
  bool transform_input = false;
  // false: skip torchvision's initialisation and keep LibTorch's per-layer defaults, as torchvision
  // does (init_weights=False) when the weights are about to be overwritten by a load.
  bool init_weights = true;
};

class Model : public torch::nn::Module {
 public:
  // `name` is the registry name (ModelSpec::name); torch::nn::Module::name() returns it.
  explicit Model(std::string name) : torch::nn::Module(std::move(name)) {}

  virtual ModelOutput Forward(const torch::Tensor& images) = 0;

  // State-dict prefixes of the final classifier layer(s), whose shapes depend on num_classes:
  // what fine-tuning replaces (e.g. {"fc."}, {"classifier.6."}).
  virtual std::vector<std::string> ClassifierPrefixes() const = 0;
  // State-dict prefixes of the auxiliary heads this architecture can have (built or not).
  virtual std::vector<std::string> AuxHeadPrefixes() const { return {}; }
};

}  // namespace kubecnn::models

// AlexNet (see alexnet.h). torchvision keeps PyTorch's default initialisation here, and so do we.
#include "trainer/models/alexnet.h"

namespace kubecnn::models {
namespace {

torch::nn::ReLU InplaceRelu() { return torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)); }
torch::nn::MaxPool2d MaxPool3s2() { return torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2)); }

}  // namespace

AlexNet::AlexNet(const ModelSpec& spec) : Model(spec.name) {
  using torch::nn::Conv2d;
  using torch::nn::Conv2dOptions;
  features_ = register_module(
      "features", torch::nn::Sequential(Conv2d(Conv2dOptions(3, 64, 11).stride(4).padding(2)), InplaceRelu(),
                                        MaxPool3s2(), Conv2d(Conv2dOptions(64, 192, 5).padding(2)), InplaceRelu(),
                                        MaxPool3s2(), Conv2d(Conv2dOptions(192, 384, 3).padding(1)), InplaceRelu(),
                                        Conv2d(Conv2dOptions(384, 256, 3).padding(1)), InplaceRelu(),
                                        Conv2d(Conv2dOptions(256, 256, 3).padding(1)), InplaceRelu(), MaxPool3s2()));
  // Linear layers at indices 1, 4 and 6, as in torchvision's state dict.
  classifier_ = register_module(
      "classifier", torch::nn::Sequential(torch::nn::Dropout(0.5), torch::nn::Linear(256 * 6 * 6, 4096), InplaceRelu(),
                                          torch::nn::Dropout(0.5), torch::nn::Linear(4096, 4096), InplaceRelu(),
                                          torch::nn::Linear(4096, spec.num_classes)));
}

ModelOutput AlexNet::Forward(const torch::Tensor& images) {
  torch::Tensor x = features_->forward(images);
  x = torch::adaptive_avg_pool2d(x, {6, 6}).flatten(1);
  return {classifier_->forward(x), {}};
}

}  // namespace kubecnn::models

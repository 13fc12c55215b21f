// The models kubecnn-trainer can build, by the names nvcnn_hvd.py's --model flag uses.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "trainer/models/model.h"

namespace kubecnn::models {

struct ModelInfo {
  std::string name;              // --model value
  std::string torchvision_name;  // same architecture in torchvision.models; empty if none
  int default_image_size = 224;  // 299 for inception3
  bool has_aux_heads = false;    // ModelSpec::aux_logits may be set
  bool has_batch_norm = true;
  // Weight of each auxiliary head's loss (ModelOutput::aux_logits order), as in the papers:
  // 0.3 for GoogLeNet's two heads (Szegedy et al. 2015), 0.4 for Inception v3's (TF-slim).
  std::vector<double> aux_loss_weights;
};

// Every model, sorted by name.
const std::vector<ModelInfo>& ListModels();
// nullptr when `name` is unknown.
const ModelInfo* FindModel(const std::string& name);
// "alexnet, googlenet, ..." for error messages and --help.
std::string KnownModelNames();
// Throws std::invalid_argument naming the known models when `name` is unknown.
int DefaultImageSize(const std::string& name);

// Builds the model with torchvision's initialisation, drawn from LibTorch's default generator
// (seed it with torch::manual_seed for reproducible weights). Throws std::invalid_argument for an
// unknown name (listing the known ones), num_classes < 1, or aux_logits on a model without heads.
std::shared_ptr<Model> CreateModel(const ModelSpec& spec);

}  // namespace kubecnn::models

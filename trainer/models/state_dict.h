// State dicts: PyTorch-ordered views of a model, and loading weights saved by torchvision.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "trainer/models/model.h"

namespace kubecnn::models {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Parameters and buffers in the order Python's module.state_dict() lists them (module by module
// in registration order, each module's parameters before its buffers).
NamedTensors StateDict(const torch::nn::Module& module);

// Elements of all parameters: Python's sum(p.numel() for p in model.parameters()).
int64_t CountParameters(const torch::nn::Module& module);

struct StateDictSummary {
  int64_t num_tensors = 0;         // entries of the state dict
  int64_t parameter_elements = 0;  // == CountParameters
  int64_t buffer_elements = 0;     // BatchNorm running statistics and counters
  int64_t bytes = 0;               // parameters + buffers as stored
};
StateDictSummary SummarizeStateDict(const torch::nn::Module& module);

// One "name<TAB>d0,d1,...\n" line per entry (a 0-d tensor has an empty shape), in order: the
// format the tests compare with a dump of torchvision's state dict.
std::string FormatStateDict(const NamedTensors& tensors);

// Reads a file written by Python's torch.save(model.state_dict(), f) or
// torch.save(dict(model.state_dict()), f) (zip format, PyTorch >= 1.6). Also accepts a checkpoint
// dict whose "state_dict" or "model" entry holds the weights, and strips DistributedDataParallel's
// "module." prefix. Entries come back in the file's order. Throws std::runtime_error with the path.
NamedTensors ReadStateDictFile(const std::string& path);

struct LoadOptions {
  // Fine-tuning: leave the final classifier layer(s) (Model::ClassifierPrefixes(), whose shapes
  // depend on num_classes) as initialised and ignore the file's.
  bool skip_classifier = false;
  // Auxiliary heads the model was built without are ignored in the file, and heads the file lacks
  // keep their initialisation (torchvision's googlenet weights carry untrained aux heads).
  bool tolerate_aux_heads = true;
};

struct LoadReport {
  int64_t loaded = 0;                     // tensors copied into the model
  std::vector<std::string> kept_initial;  // model entries not taken from the file
  std::vector<std::string> ignored;       // file entries not used
};

// Copies `tensors` into `model` by name (converting dtype and device as needed). Any shape
// mismatch, missing or unexpected entry not excused by `options` throws std::runtime_error naming
// them all. A missing BatchNorm num_batches_tracked (weights saved before PyTorch 0.4.1) is fine.
LoadReport LoadStateDict(Model& model, const NamedTensors& tensors, const LoadOptions& options = {});

// ReadStateDictFile + LoadStateDict, with the path in any error.
LoadReport LoadTorchvisionStateDict(Model& model, const std::string& path, const LoadOptions& options = {});

}  // namespace kubecnn::models

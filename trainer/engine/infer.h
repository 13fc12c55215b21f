// Inference on image files with a checkpoint: top-5 classes and latency, preprocessing included.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trainer/data/image_transform.h"
#include "trainer/engine/run_device.h"
#include "trainer/models/model.h"

namespace kubecnn::engine {

struct Prediction {
  int64_t class_index = 0;  // 0-based output index
  double probability = 0;
};

struct ImageResult {
  std::string path;
  std::string error;            // set when the file could not be read or decoded
  std::vector<Prediction> top;  // best first
  double preprocess_ms = 0;     // read + decode + resize + upload
  double model_ms = 0;          // forward pass + softmax
};

// Classes named by a labels.txt ("label<TAB>[synset<TAB>]text", label 1-based as make-shards writes
// it): output index i is label i + label_offset. Throws ConfigError for an unreadable file.
std::map<int64_t, std::string> ReadClassNames(const std::string& path, int64_t label_offset);

// Runs each image through the eval transform and the model, one at a time (the latency a single
// request sees). The model must be in eval mode on `device`.
std::vector<ImageResult> Classify(models::Model& model, const std::vector<std::string>& paths,
                                  const data::TransformOptions& transform, const RunDevice& device, int top_k);

}  // namespace kubecnn::engine

// Evaluation: top-1 / top-5 over the whole validation split (no dropped tail) for a checkpoint.
#pragma once

#include <cstdint>
#include <string>

#include "trainer/data/loader.h"
#include "trainer/engine/run_device.h"
#include "trainer/engine/train_config.h"
#include "trainer/models/model.h"

namespace kubecnn::engine {

struct EvalCounts {
  int64_t images = 0;
  int64_t top1 = 0;  // images whose label is the highest logit
  int64_t top5 = 0;  // ... among the five highest (all classes when there are fewer)
  double top1_ratio() const { return images ? static_cast<double>(top1) / images : 0.0; }
  double top5_ratio() const { return images ? static_cast<double>(top5) / images : 0.0; }
};

// Counts over every batch the loader yields (one eval pass).
EvalCounts CountCorrect(models::Model& model, data::Loader& loader, const RunDevice& device);

struct EvalResult {
  EvalCounts counts;
  std::string checkpoint;
  int64_t step = 0;
  std::string json;  // also written to <log_dir>/eval-<step>.json
};

// --eval: the newest checkpoint in --log_dir (or --checkpoint), the validation split of --data_dir.
// Throws ConfigError when there is no checkpoint or no data.
EvalResult RunEvaluation(const TrainConfig& config);

}  // namespace kubecnn::engine

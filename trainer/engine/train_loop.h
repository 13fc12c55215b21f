// The training run: model, data, optimizer, loss scaling, logs, TensorBoard, metrics, checkpoints,
// resumed from the newest checkpoint in --log_dir when there is one.
#pragma once

#include <string>
#include <vector>

#include "trainer/engine/train_config.h"
#include "trainer/metrics/throughput.h"

namespace kubecnn::engine {

struct TrainResult {
  int64_t first_step = 0;      // > 0 when resumed
  int64_t steps = 0;           // optimizer steps taken in this process
  std::vector<double> losses;  // per step, in order
  int64_t skipped_steps = 0;
  metrics::ThroughputSummary throughput;
  std::string last_checkpoint;  // empty without --log_dir
};

TrainResult Train(const TrainConfig& config, const std::string& command_line);

}  // namespace kubecnn::engine

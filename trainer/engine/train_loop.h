// The training run: model, data, optimizer, loss scaling, logs, TensorBoard, metrics, checkpoints,
// resumed from the newest checkpoint in --log_dir when there is one.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "trainer/common/errors.h"
#include "trainer/engine/train_config.h"
#include "trainer/metrics/throughput.h"

namespace kubecnn::engine {

// A configuration the run cannot proceed with (bad flag combination, incompatible checkpoint):
// the CLI exits with code 2, which the operator does not retry.
class ConfigError : public PermanentError {
 public:
  using PermanentError::PermanentError;
};

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

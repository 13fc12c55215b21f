// Building the run's model on its device, and moving its state in and out of checkpoints.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "trainer/engine/run_device.h"
#include "trainer/engine/train_config.h"
#include "trainer/models/model.h"
#include "trainer/models/state_dict.h"

namespace kubecnn::engine {

// The model's input size (224; 299 for inception3). Throws ConfigError for an unknown model.
int ModelImageSize(const std::string& model);

// Creates --model (ConfigError listing the known names if unknown), loads --init_checkpoint, moves
// it to the device, and lays 4-d weights out channels_last when the device uses it.
std::shared_ptr<models::Model> BuildModel(const TrainConfig& config, const RunDevice& device);

models::NamedTensors ModelState(const models::Model& model);
// Copies a checkpoint's model state in; any missing, extra or mis-shaped tensor is a ConfigError
// naming it and the checkpoint.
void LoadModelState(models::Model& model, const std::map<std::string, torch::Tensor>& state, const std::string& source);
int64_t CountModelParameters(const models::Model& model);

}  // namespace kubecnn::engine

// Model construction and state transfer for the engine.
#include "trainer/engine/model_setup.h"

#include "trainer/common/log.h"
#include "trainer/engine/train_loop.h"
#include "trainer/models/model_registry.h"

namespace kubecnn::engine {

int ModelImageSize(const std::string& model) {
  if (!models::FindModel(model)) {
    throw ConfigError("unknown --model=" + model + " (known: " + models::KnownModelNames() + ")");
  }
  return models::DefaultImageSize(model);
}

std::shared_ptr<models::Model> BuildModel(const TrainConfig& config, const RunDevice& device) {
  ModelImageSize(config.model);  // validates the name
  models::ModelSpec spec;
  spec.name = config.model;
  spec.num_classes = config.num_classes;
  spec.aux_logits = config.aux_logits;
  std::shared_ptr<models::Model> model = models::CreateModel(spec);
  if (!config.init_checkpoint.empty()) {
    models::LoadOptions options;
    options.skip_classifier = config.init_skip_classifier;
    const models::LoadReport report = models::LoadTorchvisionStateDict(*model, config.init_checkpoint, options);
    LogInfo("model", "initialised " + std::to_string(report.loaded) + " tensors from " + config.init_checkpoint +
                         (report.kept_initial.empty()
                              ? ""
                              : "; " + std::to_string(report.kept_initial.size()) + " kept their initialisation"));
  }
  model->to(device.device);
  if (device.channels_last) {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) {
      if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  return model;
}

models::NamedTensors ModelState(const models::Model& model) { return models::StateDict(model); }

void LoadModelState(models::Model& model, const std::map<std::string, torch::Tensor>& state,
                    const std::string& source) {
  models::NamedTensors tensors(state.begin(), state.end());
  models::LoadOptions options;
  options.tolerate_aux_heads = false;
  try {
    models::LoadStateDict(model, tensors, options);
  } catch (const std::exception& e) {
    throw ConfigError("loading the model from " + source + ": " + e.what());
  }
}

int64_t CountModelParameters(const models::Model& model) { return models::CountParameters(model); }

}  // namespace kubecnn::engine

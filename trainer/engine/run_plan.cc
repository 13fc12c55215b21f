// The run plan: steps, epochs, learning-rate schedule, optimizer, loss scaling and resume checks.
#include "trainer/engine/run_plan.h"

#include <stdexcept>

#include "trainer/models/model_registry.h"

namespace kubecnn::engine {
namespace {

std::string Str(int64_t v) { return std::to_string(v); }

const models::ModelInfo& ModelOf(const TrainConfig& c) {
  const models::ModelInfo* info = models::FindModel(c.model);
  if (info == nullptr) throw ConfigError("unknown --model=" + c.model + " (known: " + models::KnownModelNames() + ")");
  return *info;
}

int64_t TotalSteps(const TrainConfig& c, int64_t records_per_epoch, int64_t global_batch) {
  if (c.num_epochs == 0) return c.num_batches;
  if (records_per_epoch == 0) throw ConfigError("--num_epochs needs --data_dir (synthetic data has no epochs)");
  const int64_t steps = records_per_epoch * c.num_epochs / global_batch;
  if (steps == 0) {
    throw ConfigError("--num_epochs=" + Str(c.num_epochs) + " of " + Str(records_per_epoch) +
                      " records is less than one global batch of " + Str(global_batch));
  }
  return steps;
}

optim::LrSchedule Schedule(const TrainConfig& c, const RunPlan& plan) {
  optim::LrSchedule s = c.lr_schedule;
  s.base_lr = c.learning_rate > 0 ? c.learning_rate : DefaultLearningRate(c.model, plan.global_batch);
  s.total_steps = plan.total_steps;
  s.steps_per_epoch = plan.steps_per_epoch;
  s.global_batch = plan.global_batch;
  s.reference_batch = c.lr_scaling_reference_batch;
  try {
    optim::ValidateLrSchedule(s);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("--lr_schedule=" + optim::FormatLrSchedule(s) + " for this run of " + Str(plan.total_steps) +
                      " steps: " + e.what());
  }
  return s;
}

optim::SgdOptions Optimizer(const TrainConfig& c) {
  optim::SgdOptions o;
  o.momentum = c.momentum;
  o.nesterov = c.nesterov && c.momentum > 0;
  o.groups.weight_decay = c.weight_decay;
  o.groups.weight_decay_exclude_bn_bias = c.weight_decay_exclude_bn_bias;
  o.groups.layerwise_exclude_bn_bias = c.weight_decay_exclude_bn_bias;
  o.layerwise = c.layerwise;
  return o;
}

// The scaler's starting state, checked against its options now rather than at the first step.
optim::LossScalerState ScalerStart(const TrainConfig& c, const std::optional<ResumePoint>& resume) {
  std::optional<optim::LossScaler> scaler;
  try {
    scaler.emplace(c.loss_scale);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("--loss_scale: ") + e.what());
  }
  if (!resume) return scaler->state();
  if (!resume->loss_scale) {
    throw checkpoint::CheckpointError("checkpoint " + resume->path +
                                      ": no loss scaler state (missing scalars: " + resume->missing_scalars +
                                      "; damaged, or not written by this trainer's training loop: delete it to resume "
                                      "from the previous one)");
  }
  try {
    scaler->Restore(*resume->loss_scale);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("cannot resume from " + resume->path + " with this --loss_scale: " + e.what() +
                      " (use the --loss_scale of the run that wrote it)");
  }
  return scaler->state();
}

}  // namespace

ResumePoint ResumePointOf(const std::string& path, const checkpoint::Checkpoint& saved) {
  ResumePoint r;
  r.path = path;
  r.config = saved.config;
  r.step = saved.step;
  for (const char* name : {"loss_scale", "loss_scale_good_steps", "skipped_steps"}) {
    if (saved.scalars.count(name) == 0)
      r.missing_scalars += (r.missing_scalars.empty() ? "" : ", ") + std::string(name);
  }
  if (r.missing_scalars.empty()) {
    const auto& s = saved.scalars;
    r.loss_scale = optim::LossScalerState{s.at("loss_scale"), static_cast<int64_t>(s.at("loss_scale_good_steps")),
                                          static_cast<int64_t>(s.at("skipped_steps"))};
  }
  return r;
}

RunPlan PlanRun(const TrainConfig& c, int64_t records_per_epoch, const std::optional<ResumePoint>& resume) {
  const models::ModelInfo& model = ModelOf(c);
  if (c.aux_logits && !model.has_aux_heads) {
    throw ConfigError("--aux_logits: --model=" + c.model + " has no auxiliary heads (inception3 and googlenet do)");
  }
  RunPlan plan;
  const int world = c.placement.world_size;
  plan.global_batch = c.data.batch_size * world;
  const int64_t image_size = c.data.transform.output_size > 0 ? c.data.transform.output_size : model.default_image_size;
  plan.run = checkpoint::RunConfig{c.model, c.num_classes, image_size, world, c.data.batch_size};

  plan.records_per_epoch = records_per_epoch;
  if (records_per_epoch > 0) {
    plan.steps_per_epoch = records_per_epoch / plan.global_batch;
    if (plan.steps_per_epoch == 0) {
      throw ConfigError("--batch_size=" + Str(c.data.batch_size) + " x " + Str(world) + " ranks is larger than the " +
                        Str(records_per_epoch) + " training records (use a smaller --batch_size)");
    }
  }
  plan.total_steps = TotalSteps(c, records_per_epoch, plan.global_batch);
  plan.schedule = Schedule(c, plan);
  plan.optimizer = Optimizer(c);
  plan.loss_scale = c.loss_scale;
  plan.loss_scale_state = ScalerStart(c, resume);
  if (c.aux_logits) plan.aux_loss_weights = model.aux_loss_weights;

  if (resume) {
    const std::string why = checkpoint::Incompatibility(resume->config, plan.run);
    if (!why.empty()) {
      throw ConfigError("cannot resume from " + resume->path + ": " + why +
                        " (use another --log_dir, or the flags of the run that wrote it)");
    }
    plan.first_step = resume->step;
  }
  return plan;
}

int64_t EpochAt(const RunPlan& plan, int64_t step) {
  if (plan.records_per_epoch == 0) return 0;
  return step * plan.global_batch / plan.records_per_epoch;
}

}  // namespace kubecnn::engine

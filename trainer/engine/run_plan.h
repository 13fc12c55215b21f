// What a training run will do, decided before its first step: a pure function of the typed
// configuration, the dataset's size and the checkpoint it resumes from, so that every
// configuration error surfaces before any work (the CLI exits 2) and a table test covers it.
//
// The epoch has one definition here: the epoch of a step is the epoch of its first sample in the
// global sample sequence, EpochAt(plan, step) = step * global_batch / records_per_epoch. Logs,
// metrics, TensorBoard and the checkpoint's `epoch` field all use it. (Which permutation a rank
// reads is the loader's business: it follows the rank's own position, see epoch_plan.h.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trainer/checkpoint/checkpoint.h"
#include "trainer/engine/train_config.h"
#include "trainer/optim/loss_scaler.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/optim/sgd.h"

namespace kubecnn::engine {

// What the plan needs to know about the checkpoint the run would resume from.
struct ResumePoint {
  std::string path;
  checkpoint::RunConfig config;
  int64_t step = 0;
  std::optional<optim::LossScalerState> loss_scale;  // nullopt: the checkpoint lacks the scaler's scalars ...
  std::string missing_scalars;                       // ... these, e.g. "loss_scale, skipped_steps"
};

// The checkpoint's view for PlanRun; the scaler's state is nullopt when any of its scalars is missing.
ResumePoint ResumePointOf(const std::string& path, const checkpoint::Checkpoint& saved);

struct RunPlan {
  checkpoint::RunConfig run;      // what its checkpoints record and a resume must match
  int64_t global_batch = 0;       // per-rank batch x ranks
  int64_t records_per_epoch = 0;  // all ranks; 0 on synthetic data (no epochs)
  int64_t steps_per_epoch = 0;    // whole global batches per epoch; 0 on synthetic data
  int64_t first_step = 0;         // the resumed checkpoint's step, else 0
  int64_t total_steps = 0;        // --num_batches, or --num_epochs converted to steps
  optim::LrSchedule schedule;     // complete and validated
  optim::SgdOptions optimizer;
  optim::LossScalerOptions loss_scale;
  optim::LossScalerState loss_scale_state;  // where the scaler starts: the checkpoint's, or fresh
  std::vector<double> aux_loss_weights;     // one per auxiliary head trained (--aux_logits), else none
};

// Throws ConfigError (or CheckpointError for a damaged checkpoint) naming the flag or file and
// what to do. `records_per_epoch` is the training split's size over all ranks, 0 for synthetic data.
RunPlan PlanRun(const TrainConfig& config, int64_t records_per_epoch, const std::optional<ResumePoint>& resume);

// The epoch (0-based) that step `step` (0-based; equally: after `step` steps) starts in; 0 on
// synthetic data.
int64_t EpochAt(const RunPlan& plan, int64_t step);

}  // namespace kubecnn::engine

// Learning-rate schedules as a pure function of the step, and the --lr_schedule grammar.
//
// The lr for the update made at global step `step` (0-based: the number of updates done before
// it) is
//
//     scaled_base = base_lr * global_batch / reference_batch     (reference_batch 0: base_lr)
//     lr(step)    = scaled_base * decay(step) * warmup(step)
//
// decay:
//   constant     1
//   step         factor^k, k = number of boundaries <= step. Boundaries are iterations, or epochs
//                converted with steps_per_epoch (rounded to the nearest step). "At" a boundary the
//                lr has already dropped: like tf.train.exponential_decay(staircase=True).
//   poly         (1 - p)^power with p = (step - warmup) / (total_steps - warmup), clamped to [0,1],
//                then mapped to [end_lr, scaled_base]; like tf.train.polynomial_decay(cycle=False).
//   cosine       end_lr + (scaled_base - end_lr) * (1 + cos(pi * p)) / 2, same p.
// warmup: f + (1 - f) * step / warmup_steps while step < warmup_steps (f = warmup_start_factor),
//   1 afterwards. It composes with every decay: step boundaries stay absolute (Goyal et al.'s
//   recipe: warm-up, then /10 at fixed epochs), while poly and cosine start decaying where the
//   warm-up ends, so the lr is continuous there.
//
// nvcnn_hvd.py 1.1 (the LARC release; read in a public copy, github.com/XuanBaby/Tensorflow-lars)
// builds its lr in FeedForwardTrainer with tf.train.polynomial_decay from --learning_rate to an end
// lr of 0 over num_epochs * steps_per_epoch steps, power lr_poly_power = 2, cycle=False, and no
// warm-up at all; its other, unused policy is exponential_decay(staircase) by 0.1 every 30 epochs.
// kNvcnnLrSchedule is that default. Its ResNet default lr, 1.0 * global_batch / 1024, is linear
// scaling with reference_batch 1024.
//
// --lr_schedule grammar (spaces around tokens are ignored):
//
//   spec    := kind [":" args] { ";" option }
//   kind    := "constant" | "step" | "step_epochs" | "poly" | "cosine"
//   args    := step:         N {"," N}    iteration boundaries, positive, strictly increasing
//              step_epochs:  E {"," E}    epoch boundaries (may be fractional), strictly increasing
//              poly:         [P]          power, default 2
//              constant and cosine take no args
//   option  := "factor=" F               step kinds: multiplier at each boundary, default 0.1
//            | "end_lr=" F               poly and cosine: lr at the end of the run, default 0
//            | "warmup_steps=" N         linear warm-up length in iterations ...
//            | "warmup_epochs=" E        ... or in epochs (at most one of the two)
//            | "warmup_start_factor=" F  warm-up starts at F * lr, 0 <= F <= 1, default 0
//
// Examples: "step:150000,300000,400000,450000", "step_epochs:30,60,80;warmup_epochs=5",
// "poly:2", "cosine;end_lr=0.0001;warmup_steps=500", "constant".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::optim {

inline constexpr char kNvcnnLrSchedule[] = "poly:2";

enum class LrDecay { kConstant, kStep, kPoly, kCosine };
enum class ScheduleUnit { kSteps, kEpochs };

struct LrSchedule {
  // From --learning_rate and the run's size; ParseLrSchedule leaves them at these defaults.
  double base_lr = 0.1;
  int64_t total_steps = 0;      // poly and cosine decay to end_lr over the whole run
  int64_t steps_per_epoch = 0;  // needed when boundaries or warm-up are in epochs
  int64_t global_batch = 0;     // linear scaling: base_lr * global_batch / reference_batch ...
  int64_t reference_batch = 0;  // ... (--lr_scaling_reference_batch); 0 turns scaling off

  // From --lr_schedule.
  LrDecay decay = LrDecay::kConstant;
  ScheduleUnit boundary_unit = ScheduleUnit::kSteps;
  std::vector<double> boundaries;  // kStep; whole numbers when boundary_unit is kSteps
  double factor = 0.1;             // kStep
  double power = 2.0;              // kPoly
  double end_lr = 0.0;             // kPoly, kCosine
  double warmup = 0.0;             // length of the linear warm-up, in warmup_unit
  ScheduleUnit warmup_unit = ScheduleUnit::kSteps;
  double warmup_start_factor = 0.0;
};

// The lr for the update at `step`. The schedule must pass ValidateLrSchedule.
double LearningRate(const LrSchedule& schedule, int64_t step);

// base_lr after linear batch scaling (the lr that warm-up reaches and decay starts from).
double ScaledBaseLr(const LrSchedule& schedule);

// Boundaries and warm-up length in steps (epochs converted with steps_per_epoch).
std::vector<int64_t> BoundarySteps(const LrSchedule& schedule);
int64_t WarmupSteps(const LrSchedule& schedule);

// Parses the --lr_schedule grammar above into the decay fields of an LrSchedule; the run fields
// (base_lr, total_steps, ...) keep their defaults for the caller to fill. Throws
// std::invalid_argument saying which part of `spec` is wrong and what was expected.
LrSchedule ParseLrSchedule(std::string_view spec);

// The canonical spec of the decay fields: ParseLrSchedule(FormatLrSchedule(s)) gives them back.
std::string FormatLrSchedule(const LrSchedule& schedule);

// Checks the whole schedule once the run fields are known (e.g. poly needs total_steps > warm-up,
// epochs need steps_per_epoch). Throws std::invalid_argument naming the field and its value.
void ValidateLrSchedule(const LrSchedule& schedule);

}  // namespace kubecnn::optim

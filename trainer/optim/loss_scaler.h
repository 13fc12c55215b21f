// Loss scaling for fp16 training as a pure state machine: static (--loss_scale=128) or dynamic.
//
// The training loop multiplies the loss by scale() before backward, unscales the gradients after
// the all-reduce (UnscaleGradients in unscale_grads.h, which reports inf/NaN), then calls
// Update(found_non_finite) and applies the optimizer step only when it returns true. Unscaling
// after the all-reduce means every rank sees the same gradients, hence the same verdict, so the
// ranks skip together and their scales never diverge.
//
// Dynamic scaling (apex / torch.cuda.amp.GradScaler): start at 2^16; a step with a non-finite
// gradient is skipped and halves the scale (not below min_scale); growth_interval finite steps in a
// row double it (not above max_scale). A static scale never changes, but a non-finite step is
// skipped all the same (applying it would write inf/NaN into the weights); nvcnn_hvd.py checked
// nothing. Skipped steps are counted in both modes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kubecnn::optim {

struct LossScalerOptions {
  bool dynamic = false;
  double init_scale = 1.0;  // the static scale, or where dynamic scaling starts
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  double min_scale = 1.0;
  double max_scale = 16777216.0;  // 2^24
};

LossScalerOptions StaticLossScale(double scale);
LossScalerOptions DynamicLossScale(double init_scale = 65536.0);

// --loss_scale: a number ("128", "1" = off, nvcnn's default) for a static scale, "dynamic" or
// "dynamic:INIT" (INIT a power of two is customary) for dynamic scaling. Throws
// std::invalid_argument naming the bad text.
LossScalerOptions ParseLossScale(std::string_view text);

// Everything needed to resume exactly: checkpointed beside the optimizer state.
struct LossScalerState {
  double scale = 1.0;
  int64_t good_steps = 0;     // finite steps since the last change of scale (dynamic)
  int64_t skipped_steps = 0;  // total steps skipped for inf/NaN gradients
  bool operator==(const LossScalerState&) const = default;
};

// "scale=65536 good_steps=12 skipped_steps=3"; Parse throws std::invalid_argument on anything else.
std::string SerializeLossScalerState(const LossScalerState& state);
LossScalerState ParseLossScalerState(std::string_view text);

class LossScaler {
 public:
  // Throws std::invalid_argument for a scale that is not finite and positive, or outside
  // [min_scale, max_scale] for dynamic scaling, or bad factors.
  explicit LossScaler(const LossScalerOptions& options);

  double scale() const { return state_.scale; }
  int64_t skipped_steps() const { return state_.skipped_steps; }
  bool dynamic() const { return options_.dynamic; }

  // Records the outcome of one step's gradients; returns whether to apply the step.
  bool Update(bool found_non_finite);

  const LossScalerState& state() const { return state_; }
  // Resumes from a checkpoint; throws std::invalid_argument if `state` does not fit the options
  // (a non-positive scale, good_steps outside [0, growth_interval)).
  void Restore(const LossScalerState& state);

 private:
  LossScalerOptions options_;
  LossScalerState state_;
};

}  // namespace kubecnn::optim

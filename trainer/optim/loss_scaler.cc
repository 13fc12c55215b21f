// Static and dynamic loss scaling: the state machine, its flag and its checkpoint text.
#include "trainer/optim/loss_scaler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "trainer/optim/text_parsing.h"

namespace kubecnn::optim {

LossScalerOptions StaticLossScale(double scale) {
  LossScalerOptions options;
  options.init_scale = scale;
  return options;
}

LossScalerOptions DynamicLossScale(double init_scale) {
  LossScalerOptions options;
  options.dynamic = true;
  options.init_scale = init_scale;
  return options;
}

LossScalerOptions ParseLossScale(std::string_view text) {
  const std::string_view trimmed = Trim(text);
  const auto fail = [&](const std::string& what) {
    throw std::invalid_argument("--loss_scale=" + std::string(text) + ": " + what +
                                " (use a positive number such as 128, 1 for none, or dynamic[:INIT])");
  };
  if (trimmed == "dynamic") return DynamicLossScale();
  if (trimmed.starts_with("dynamic:")) {
    const auto init = ParseDouble(trimmed.substr(8));
    if (!init || *init <= 0) fail("the initial scale is not a positive number");
    return DynamicLossScale(*init);
  }
  const auto scale = ParseDouble(trimmed);
  if (!scale) fail("not a number");
  if (*scale <= 0) fail("the scale must be positive");
  return StaticLossScale(*scale);
}

std::string SerializeLossScalerState(const LossScalerState& state) {
  return "scale=" + FormatDouble(state.scale) + " good_steps=" + std::to_string(state.good_steps) +
         " skipped_steps=" + std::to_string(state.skipped_steps);
}

LossScalerState ParseLossScalerState(std::string_view text) {
  const auto fail = [&](const std::string& what) {
    throw std::invalid_argument("loss scaler state \"" + std::string(text) + "\": " + what +
                                " (expected \"scale=S good_steps=N skipped_steps=N\")");
  };
  std::vector<std::string_view> fields;
  for (std::string_view piece : Split(Trim(text), ' ')) {
    if (!piece.empty()) fields.push_back(piece);
  }
  if (fields.size() != 3) fail("wants exactly three fields");
  LossScalerState state;
  const char* keys[] = {"scale=", "good_steps=", "skipped_steps="};
  for (size_t i = 0; i < 3; ++i) {
    if (!fields[i].starts_with(keys[i])) fail(std::string("field ") + std::to_string(i + 1) + " is not " + keys[i]);
    const std::string_view value = fields[i].substr(std::string_view(keys[i]).size());
    if (i == 0) {
      const auto scale = ParseDouble(value);
      if (!scale || *scale <= 0) fail("scale must be a positive number");
      state.scale = *scale;
    } else {
      const auto count = ParseInt64(value);
      if (!count || *count < 0) fail(std::string(keys[i]) + " must be a count >= 0");
      (i == 1 ? state.good_steps : state.skipped_steps) = *count;
    }
  }
  return state;
}

LossScaler::LossScaler(const LossScalerOptions& options) : options_(options) {
  const auto fail = [](const std::string& what) { throw std::invalid_argument("loss scaler: " + what); };
  if (!std::isfinite(options.init_scale) || options.init_scale <= 0) {
    fail("scale " + FormatDouble(options.init_scale) + " must be finite and positive");
  }
  if (options.dynamic) {
    if (!(options.min_scale > 0) || options.max_scale < options.min_scale) fail("needs 0 < min_scale <= max_scale");
    if (options.init_scale < options.min_scale || options.init_scale > options.max_scale) {
      fail("initial scale " + FormatDouble(options.init_scale) + " is outside [" + FormatDouble(options.min_scale) +
           ", " + FormatDouble(options.max_scale) + "]");
    }
    if (!(options.growth_factor > 1) || !(options.backoff_factor > 0 && options.backoff_factor < 1)) {
      fail("needs growth_factor > 1 and 0 < backoff_factor < 1");
    }
    if (options.growth_interval < 1) fail("growth_interval must be >= 1");
  }
  state_.scale = options.init_scale;
}

bool LossScaler::Update(bool found_non_finite) {
  if (found_non_finite) {
    ++state_.skipped_steps;
    if (options_.dynamic) {
      state_.scale = std::max(state_.scale * options_.backoff_factor, options_.min_scale);
      state_.good_steps = 0;
    }
    return false;
  }
  if (options_.dynamic && ++state_.good_steps >= options_.growth_interval) {
    state_.scale = std::min(state_.scale * options_.growth_factor, options_.max_scale);
    state_.good_steps = 0;
  }
  return true;
}

void LossScaler::Restore(const LossScalerState& state) {
  if (!std::isfinite(state.scale) || state.scale <= 0) {
    throw std::invalid_argument("loss scaler state: scale " + FormatDouble(state.scale) + " is not positive");
  }
  if (state.good_steps < 0 || (options_.dynamic && state.good_steps >= options_.growth_interval) ||
      state.skipped_steps < 0) {
    throw std::invalid_argument("loss scaler state: good_steps " + std::to_string(state.good_steps) +
                                " / skipped_steps " + std::to_string(state.skipped_steps) +
                                " do not fit growth_interval " + std::to_string(options_.growth_interval));
  }
  state_ = state;
  // A static scale comes from the flag, which may have changed since the checkpoint was written.
  if (!options_.dynamic) state_.scale = options_.init_scale;
}

}  // namespace kubecnn::optim

// Learning-rate schedules: the pure lr(step) function, the --lr_schedule parser and its checks.
#include "trainer/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>
#include <stdexcept>

#include "trainer/optim/text_parsing.h"

namespace kubecnn::optim {
namespace {

constexpr char kKinds[] = "constant, step:N,N,..., step_epochs:E,E,..., poly[:POWER], cosine";
constexpr char kOptions[] = "factor, end_lr, warmup_steps, warmup_epochs, warmup_start_factor";

int64_t ToSteps(double value, ScheduleUnit unit, int64_t steps_per_epoch) {
  const double steps = unit == ScheduleUnit::kEpochs ? value * static_cast<double>(steps_per_epoch) : value;
  return static_cast<int64_t>(std::llround(steps));
}

std::string KindName(const LrSchedule& s) {
  switch (s.decay) {
    case LrDecay::kConstant: return "constant";
    case LrDecay::kStep: return s.boundary_unit == ScheduleUnit::kEpochs ? "step_epochs" : "step";
    case LrDecay::kPoly: return "poly";
    case LrDecay::kCosine: return "cosine";
  }
  return "?";
}

[[noreturn]] void Fail(std::string_view spec, const std::string& what) {
  throw std::invalid_argument("lr schedule \"" + std::string(spec) + "\": " + what);
}

std::vector<double> ParseBoundaries(std::string_view spec, std::string_view args, bool in_epochs) {
  if (args.empty()) {
    Fail(spec, std::string(in_epochs ? "step_epochs" : "step") + " needs its boundaries after ':', e.g. " +
                   (in_epochs ? "step_epochs:30,60,80" : "step:150000,300000,400000,450000"));
  }
  std::vector<double> out;
  for (std::string_view piece : Split(args, ',')) {
    double value = 0;
    if (in_epochs) {
      const auto parsed = ParseDouble(piece);
      if (!parsed) Fail(spec, "boundary \"" + std::string(piece) + "\" is not a number of epochs");
      value = *parsed;
    } else {
      const auto parsed = ParseInt64(piece);
      if (!parsed) {
        Fail(spec, "boundary \"" + std::string(piece) +
                       "\" is not a whole number of iterations (use step_epochs: for epochs)");
      }
      value = static_cast<double>(*parsed);
    }
    if (value <= 0) Fail(spec, "boundary " + std::string(piece) + " must be positive");
    if (!out.empty() && value <= out.back()) {
      Fail(spec, "boundaries must be strictly increasing, but " + std::string(piece) + " follows " +
                     FormatDouble(out.back()));
    }
    out.push_back(value);
  }
  return out;
}

double ParseOptionNumber(std::string_view spec, std::string_view key, std::string_view value) {
  const auto parsed = ParseDouble(value);
  if (!parsed) Fail(spec, std::string(key) + "=" + std::string(value) + ": the value is not a number");
  return *parsed;
}

}  // namespace

double ScaledBaseLr(const LrSchedule& s) {
  if (s.reference_batch <= 0) return s.base_lr;
  return s.base_lr * static_cast<double>(s.global_batch) / static_cast<double>(s.reference_batch);
}

std::vector<int64_t> BoundarySteps(const LrSchedule& s) {
  std::vector<int64_t> steps;
  steps.reserve(s.boundaries.size());
  for (double b : s.boundaries) steps.push_back(ToSteps(b, s.boundary_unit, s.steps_per_epoch));
  return steps;
}

int64_t WarmupSteps(const LrSchedule& s) { return ToSteps(s.warmup, s.warmup_unit, s.steps_per_epoch); }

double LearningRate(const LrSchedule& s, int64_t step) {
  step = std::max<int64_t>(step, 0);
  const double base = ScaledBaseLr(s);
  const int64_t warmup = WarmupSteps(s);
  double lr = base;
  switch (s.decay) {
    case LrDecay::kConstant: break;
    case LrDecay::kStep: {
      int drops = 0;
      for (int64_t boundary : BoundarySteps(s)) drops += step >= boundary ? 1 : 0;
      lr = base * std::pow(s.factor, drops);
      break;
    }
    case LrDecay::kPoly:
    case LrDecay::kCosine: {
      const double span = static_cast<double>(s.total_steps - warmup);
      const double progress = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
      const double shape = s.decay == LrDecay::kPoly ? std::pow(1.0 - progress, s.power)
                                                     : 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
      lr = s.end_lr + (base - s.end_lr) * shape;
      break;
    }
  }
  if (step < warmup) {
    const double ramp = static_cast<double>(step) / static_cast<double>(warmup);
    lr *= s.warmup_start_factor + (1.0 - s.warmup_start_factor) * ramp;
  }
  return lr;
}

LrSchedule ParseLrSchedule(std::string_view spec) {
  LrSchedule s;
  const std::vector<std::string_view> parts = Split(spec, ';');
  const std::string_view head = parts.front();
  if (head.empty()) Fail(spec, std::string("no schedule kind; expected one of ") + kKinds);
  const size_t colon = head.find(':');
  const std::string_view kind = Trim(head.substr(0, colon));
  const std::optional<std::string_view> args =
      colon == std::string_view::npos ? std::nullopt : std::optional(Trim(head.substr(colon + 1)));

  if (kind == "constant" || kind == "cosine") {
    s.decay = kind == "constant" ? LrDecay::kConstant : LrDecay::kCosine;
    if (args) {
      Fail(spec,
           std::string(kind) + " takes no arguments after ':'; options go after ';', e.g. " + "cosine;end_lr=0.0001");
    }
  } else if (kind == "step" || kind == "step_epochs") {
    s.decay = LrDecay::kStep;
    s.boundary_unit = kind == "step_epochs" ? ScheduleUnit::kEpochs : ScheduleUnit::kSteps;
    s.boundaries = ParseBoundaries(spec, args.value_or(""), s.boundary_unit == ScheduleUnit::kEpochs);
  } else if (kind == "poly") {
    s.decay = LrDecay::kPoly;
    if (args) {
      const auto power = ParseDouble(*args);
      if (!power || *power <= 0) Fail(spec, "poly power \"" + std::string(*args) + "\" must be a positive number");
      s.power = *power;
    }
  } else {
    Fail(spec, "unknown kind \"" + std::string(kind) + "\"; expected one of " + kKinds);
  }

  std::vector<std::string_view> seen;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view option = parts[i];
    const size_t eq = option.find('=');
    if (eq == std::string_view::npos) {
      Fail(spec, "option \"" + std::string(option) + "\" is not key=value; options are " + kOptions);
    }
    const std::string_view key = Trim(option.substr(0, eq));
    const std::string_view value = Trim(option.substr(eq + 1));
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) Fail(spec, std::string(key) + " is given twice");
    seen.push_back(key);
    const double number = ParseOptionNumber(spec, key, value);
    if (key == "factor") {
      if (s.decay != LrDecay::kStep) Fail(spec, "factor applies to step and step_epochs only");
      if (number <= 0) Fail(spec, "factor must be positive, got " + std::string(value));
      s.factor = number;
    } else if (key == "end_lr") {
      if (s.decay != LrDecay::kPoly && s.decay != LrDecay::kCosine)
        Fail(spec, "end_lr applies to poly and cosine only");
      if (number < 0) Fail(spec, "end_lr must not be negative, got " + std::string(value));
      s.end_lr = number;
    } else if (key == "warmup_steps" || key == "warmup_epochs") {
      const bool other_given =
          std::count(seen.begin(), seen.end(), "warmup_steps") + std::count(seen.begin(), seen.end(), "warmup_epochs") >
          1;
      if (other_given) Fail(spec, "give warmup_steps or warmup_epochs, not both");
      if (number < 0) Fail(spec, std::string(key) + " must not be negative, got " + std::string(value));
      s.warmup_unit = key == "warmup_epochs" ? ScheduleUnit::kEpochs : ScheduleUnit::kSteps;
      if (s.warmup_unit == ScheduleUnit::kSteps && number != std::floor(number)) {
        Fail(spec, "warmup_steps=" + std::string(value) + " is not a whole number (use warmup_epochs= for epochs)");
      }
      s.warmup = number;
    } else if (key == "warmup_start_factor") {
      if (number < 0 || number > 1) Fail(spec, "warmup_start_factor must be within [0, 1], got " + std::string(value));
      s.warmup_start_factor = number;
    } else {
      Fail(spec, "unknown option \"" + std::string(key) + "\"; options are " + kOptions);
    }
  }
  return s;
}

std::string FormatLrSchedule(const LrSchedule& s) {
  std::string out = KindName(s);
  if (s.decay == LrDecay::kStep) {
    for (size_t i = 0; i < s.boundaries.size(); ++i) out += (i == 0 ? ":" : ",") + FormatDouble(s.boundaries[i]);
    if (s.factor != 0.1) out += ";factor=" + FormatDouble(s.factor);
  }
  if (s.decay == LrDecay::kPoly) out += ":" + FormatDouble(s.power);
  if ((s.decay == LrDecay::kPoly || s.decay == LrDecay::kCosine) && s.end_lr != 0) {
    out += ";end_lr=" + FormatDouble(s.end_lr);
  }
  if (s.warmup > 0) {
    out += (s.warmup_unit == ScheduleUnit::kEpochs ? ";warmup_epochs=" : ";warmup_steps=") + FormatDouble(s.warmup);
  }
  if (s.warmup_start_factor != 0) out += ";warmup_start_factor=" + FormatDouble(s.warmup_start_factor);
  return out;
}

void ValidateLrSchedule(const LrSchedule& s) {
  const std::string name = "lr schedule " + FormatLrSchedule(s) + ": ";
  auto fail = [&](const std::string& what) { throw std::invalid_argument(name + what); };
  if (!std::isfinite(s.base_lr) || s.base_lr < 0) fail("learning rate " + FormatDouble(s.base_lr) + " must be >= 0");
  if (s.reference_batch < 0) fail("lr scaling reference batch must be >= 0 (0 turns scaling off)");
  if (s.reference_batch > 0 && s.global_batch <= 0) {
    fail("lr scaling by reference batch " + std::to_string(s.reference_batch) + " needs the global batch size, got " +
         std::to_string(s.global_batch));
  }
  const bool uses_epochs = (s.decay == LrDecay::kStep && s.boundary_unit == ScheduleUnit::kEpochs) ||
                           (s.warmup > 0 && s.warmup_unit == ScheduleUnit::kEpochs);
  if (uses_epochs && s.steps_per_epoch <= 0) {
    fail("epochs need steps per epoch, got " + std::to_string(s.steps_per_epoch) +
         " (the dataset size is unknown: give boundaries in iterations instead)");
  }
  if (s.warmup < 0 || s.warmup_start_factor < 0 || s.warmup_start_factor > 1) {
    fail("warm-up length must be >= 0 and its start factor within [0, 1]");
  }
  if (s.decay == LrDecay::kStep) {
    if (s.boundaries.empty()) fail("step decay needs at least one boundary");
    if (!(s.factor > 0) || !std::isfinite(s.factor)) fail("factor must be positive");
    for (size_t i = 0; i < s.boundaries.size(); ++i) {
      if (s.boundaries[i] <= 0 || (i > 0 && s.boundaries[i] <= s.boundaries[i - 1])) {
        fail("boundaries must be positive and strictly increasing");
      }
    }
  }
  if (s.decay == LrDecay::kPoly || s.decay == LrDecay::kCosine) {
    const int64_t warmup = WarmupSteps(s);
    if (s.total_steps <= warmup) {
      fail("decays over the whole run, which needs more total steps (" + std::to_string(s.total_steps) +
           ") than warm-up steps (" + std::to_string(warmup) + ")");
    }
    if (!(s.power > 0) || !std::isfinite(s.power)) fail("poly power must be positive");
    if (!(s.end_lr >= 0) || !std::isfinite(s.end_lr)) fail("end_lr must be >= 0");
  }
}

}  // namespace kubecnn::optim

// libFuzzer target: arbitrary bytes as a trainer pod's /metrics answer or its launcher's
// termination message. Both come from a user-chosen image over the network (or the API), so the
// operator's parsers must never crash, hang or leak on them, and what they accept must be sane.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "operator/controller/progress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (const auto progress = kubecnn::controller::ParseTrainerMetrics(text)) {
    // status.progress is written as JSON: NaN or infinity there would make the status unwritable.
    for (const auto& value : {progress->images_per_second, progress->loss, progress->learning_rate}) {
      if (value && !std::isfinite(*value)) __builtin_trap();
    }
  }
  try {
    const auto result = kubecnn::controller::ParseEvaluationResult(text);
    if (!result.top1 || !result.top5) __builtin_trap();  // accepted only with both
  } catch (const std::invalid_argument&) {
  }
  return 0;
}

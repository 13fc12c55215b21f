// Timestamps in TrainingJob status: RFC 3339 to the second, as metav1.Time is written.
#pragma once

#include <optional>
#include <string>

#include "operator/kube/clock.h"

namespace kubecnn::api {

// "2026-05-01T12:00:00Z"
std::string FormatTime(kube::WallTime t);
// Parses "2026-05-01T12:00:00Z" (fractional seconds and numeric offsets accepted); nullopt otherwise.
std::optional<kube::WallTime> ParseTime(const std::string& text);

}  // namespace kubecnn::api

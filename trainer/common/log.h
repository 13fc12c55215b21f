// Timestamped, thread-safe log lines on stderr ("2026-11-22 03:40:01 W loader: ..."), for both binaries.
#pragma once

#include <string_view>

namespace kubecnn {

enum class LogLevel { kInfo, kWarning, kError };

void Log(LogLevel level, std::string_view component, std::string_view message);
inline void LogInfo(std::string_view component, std::string_view message) { Log(LogLevel::kInfo, component, message); }
inline void LogWarning(std::string_view component, std::string_view message) {
  Log(LogLevel::kWarning, component, message);
}
inline void LogError(std::string_view component, std::string_view message) {
  Log(LogLevel::kError, component, message);
}

}  // namespace kubecnn

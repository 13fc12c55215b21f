// Log lines: one write per line under a mutex so lines from threads never interleave.
#include "operator/kube/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace kubecnn::kube {

void Log(LogLevel level, std::string_view component, std::string_view message) {
  static std::mutex mu;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  const char tag = level == LogLevel::kInfo ? 'I' : level == LogLevel::kWarning ? 'W' : 'E';
  std::string line = std::string(stamp) + ' ' + tag + ' ' + std::string(component) + ": " + std::string(message) + '\n';
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace kubecnn::kube

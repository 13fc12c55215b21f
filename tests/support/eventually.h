// Eventually: waits on the real clock, polling, until a condition holds or a limit passes; for
// tests whose condition is met by other threads or processes.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace kubecnn::testing {

// Polls `done` every `poll` for up to `limit`; true once it holds (asked once more at the limit).
inline bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(60),
                       std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

}  // namespace kubecnn::testing

// A manual Clock for tests: Sleep advances time at once and is recorded, so back-off and rate
// limits can be checked exactly without waiting.
#pragma once

#include <mutex>
#include <vector>

#include "operator/kube/clock.h"

namespace kubecnn::testing {

class FakeClock : public kube::Clock {
 public:
  kube::SteadyTime Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  kube::WallTime WallNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return kube::WallTime(std::chrono::duration_cast<kube::WallTime::duration>(now_.time_since_epoch())) + offset_;
  }
  void Sleep(kube::Duration d) override {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(d);
    now_ += d;
  }
  void Advance(kube::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  std::vector<kube::Duration> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  kube::SteadyTime now_ = kube::SteadyTime(std::chrono::hours(1000));
  std::chrono::system_clock::duration offset_ = std::chrono::hours(24 * 365 * 50);
  std::vector<kube::Duration> sleeps_;
};

}  // namespace kubecnn::testing

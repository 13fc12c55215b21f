// TokenBucket, ItemBackoff and the limiters built on them.
#include "operator/kube/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace kubecnn::kube {

TokenBucket::TokenBucket(double qps, int burst, SteadyTime now)
    : qps_(qps), burst_(std::max(1, burst)), tokens_(std::max(1, burst)), last_(now) {}

Duration TokenBucket::Reserve(SteadyTime now) {
  if (qps_ <= 0) return Duration::zero();  // unlimited
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

ClientRateLimiter::ClientRateLimiter(double qps, int burst, Clock& clock)
    : clock_(clock), bucket_(qps, burst, clock.Now()) {}

Duration ClientRateLimiter::Wait() {
  Duration wait;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wait = bucket_.Reserve(clock_.Now());
  }
  if (wait > Duration::zero()) clock_.Sleep(wait);
  return wait;
}

Duration ItemBackoff::When(const std::string& key) {
  const int failures = failures_[key]++;
  const double delay = static_cast<double>(base_.count()) * std::pow(2.0, std::min(failures, 62));
  return delay >= static_cast<double>(max_.count()) ? max_ : Duration(static_cast<Duration::rep>(delay));
}

int ItemBackoff::NumRequeues(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

ControllerRateLimiter::ControllerRateLimiter(Duration base, Duration max, double qps, int burst, SteadyTime now)
    : items_(base, max), bucket_(qps, burst, now) {}

Duration ControllerRateLimiter::When(const std::string& key, SteadyTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(items_.When(key), bucket_.Reserve(now));
}

void ControllerRateLimiter::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  items_.Forget(key);
}

int ControllerRateLimiter::NumRequeues(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return items_.NumRequeues(key);
}

}  // namespace kubecnn::kube

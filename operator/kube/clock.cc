// RealClock, time formatting and StopSignal.
#include "operator/kube/clock.h"

#include <ctime>
#include <thread>
#include <vector>

namespace kubecnn::kube {
namespace {

class SystemClock : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void Sleep(Duration d) override { std::this_thread::sleep_for(d); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, SteadyTime deadline) const override {
    cv.wait_until(lock, deadline);
  }
};

std::string Format(WallTime t, bool micros) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (micros) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us < 0 ? us + 1000000 : us));
    out += buf;
  }
  return out + "Z";
}

}  // namespace

void Clock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, SteadyTime deadline) const {
  if (Now() < deadline) cv.wait_for(lock, std::chrono::milliseconds(1));
}

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

std::string FormatMicroTime(WallTime t) { return Format(t, true); }
std::string FormatTime(WallTime t) { return Format(t, false); }

void StopSignal::Stop() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, fn] : callbacks_) callbacks.push_back(std::move(fn));
    callbacks_.clear();
  }
  cv_.notify_all();
  for (auto& fn : callbacks) fn();
}

bool StopSignal::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

bool StopSignal::SleepFor(Duration d) const {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopped_; });
}

int StopSignal::OnStop(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopped_) {
      callbacks_[next_id_] = std::move(fn);
      return next_id_++;
    }
  }
  fn();
  return -1;
}

void StopSignal::RemoveOnStop(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.erase(id);
}

}  // namespace kubecnn::kube

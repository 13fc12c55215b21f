// Time and cancellation: a Clock that tests can replace, and a StopSignal that wakes sleepers and
// cancels in-flight requests when a component shuts down.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace kubecnn::kube {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const = 0;
  virtual WallTime WallNow() const = 0;
  virtual void Sleep(Duration d) = 0;
  // Waits on `cv` (with `lock` held) until notified or until Now() reaches `deadline`; it may wake
  // early, so callers re-check. The default looks at Now() every millisecond, which serves clocks
  // that tests move by hand; the real clock waits for the deadline itself.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, SteadyTime deadline) const;
};

// The process clock (steady_clock, system_clock, this_thread::sleep_for).
Clock& RealClock();

// RFC 3339 with microseconds ("2024-05-01T12:00:00.000000Z"), the MicroTime format of Leases.
std::string FormatMicroTime(WallTime t);
// RFC 3339 to the second ("2024-05-01T12:00:00Z"), the Time format of Events.
std::string FormatTime(WallTime t);

// A one-shot stop request shared by a component's threads.
class StopSignal {
 public:
  void Stop();
  bool stopped() const;
  // Sleeps up to `d`; returns false (early) once stopped.
  bool SleepFor(Duration d) const;
  // Registers `fn` to run (once) on Stop; runs it at once when already stopped. Returns an id.
  int OnStop(std::function<void()> fn);
  void RemoveOnStop(int id);

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;
  int next_id_ = 0;
  std::map<int, std::function<void()>> callbacks_;
};

}  // namespace kubecnn::kube

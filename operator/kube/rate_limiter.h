// Rate limiters: a token bucket (client QPS/burst; the work queue's overall limit), per-item
// exponential back-off, and client-go's default controller limiter combining the two.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "operator/kube/clock.h"

namespace kubecnn::kube {

// Pure token bucket: `burst` tokens, refilled at `qps` per second. Reserve takes a token now, going
// into debt if none is left, and says how long the caller must wait before using it.
class TokenBucket {
 public:
  TokenBucket(double qps, int burst, SteadyTime now);
  Duration Reserve(SteadyTime now);

 private:
  double qps_;
  double burst_;
  double tokens_;
  SteadyTime last_;
};

// Thread-safe blocking wrapper for a client: Wait() sleeps until a request may go out.
class ClientRateLimiter {
 public:
  ClientRateLimiter(double qps, int burst, Clock& clock);
  // Returns how long it waited.
  Duration Wait();

 private:
  Clock& clock_;
  std::mutex mu_;
  TokenBucket bucket_;
};

// Per-key exponential back-off: base * 2^failures, capped; Forget resets the key.
class ItemBackoff {
 public:
  ItemBackoff(Duration base, Duration max) : base_(base), max_(max) {}
  Duration When(const std::string& key);
  void Forget(const std::string& key) { failures_.erase(key); }
  int NumRequeues(const std::string& key) const;

 private:
  Duration base_;
  Duration max_;
  std::map<std::string, int> failures_;
};

// What a work queue asks when an item is re-added after a failure.
class QueueRateLimiter {
 public:
  virtual ~QueueRateLimiter() = default;
  virtual Duration When(const std::string& key, SteadyTime now) = 0;
  virtual void Forget(const std::string& key) = 0;
  virtual int NumRequeues(const std::string& key) = 0;
};

// client-go's DefaultControllerRateLimiter: the longer of per-item back-off (5 ms .. 1000 s) and an
// overall token bucket (10 qps, burst 100), so one hot item backs off alone and a storm of
// failures cannot exceed the overall rate.
class ControllerRateLimiter : public QueueRateLimiter {
 public:
  ControllerRateLimiter(Duration base = std::chrono::milliseconds(5), Duration max = std::chrono::seconds(1000),
                        double qps = 10, int burst = 100, SteadyTime now = std::chrono::steady_clock::now());
  Duration When(const std::string& key, SteadyTime now) override;
  void Forget(const std::string& key) override;
  int NumRequeues(const std::string& key) override;

 private:
  std::mutex mu_;
  ItemBackoff items_;
  TokenBucket bucket_;
};

}  // namespace kubecnn::kube

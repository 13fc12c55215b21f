// A controller work queue, as client-go's: keys are deduplicated while waiting, a key is never
// handed to two workers at once (re-adds during processing wait for Done), failed keys come back
// after a rate-limited delay, and Forget clears a key's back-off after success.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/clock.h"
#include "operator/kube/metrics.h"
#include "operator/kube/rate_limiter.h"

namespace kubecnn::kube {

class WorkQueue {
 public:
  // `limiter` null: ControllerRateLimiter's defaults (5 ms .. 1000 s per key, 10 qps / 100 burst).
  // Delays and back-offs run on `clock` (RealClock() when null; a test's FakeClock moves them).
  explicit WorkQueue(std::string name, std::unique_ptr<QueueRateLimiter> limiter = nullptr,
                     std::shared_ptr<Metrics> metrics = nullptr, Clock* clock = nullptr);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& key);
  void AddAfter(const std::string& key, Duration delay);
  void AddRateLimited(const std::string& key);  // after the limiter's delay for this key
  void Forget(const std::string& key);          // success: reset the key's back-off
  int NumRequeues(const std::string& key);

  // Blocks for the next key; nullopt once shut down and drained of ready keys.
  std::optional<std::string> Get();
  // Must follow every Get: marks the key free again (re-queuing it if it was re-added meanwhile).
  void Done(const std::string& key);

  void ShutDown();
  bool ShuttingDown() const;
  size_t Len();            // keys ready and waiting (not processing, not delayed); delays due by now count
  size_t Waiters() const;  // threads blocked in Get

 private:
  void AddLocked(const std::string& key);
  void PromoteDueLocked();  // moves delayed keys due by clock_.Now() to the queue
  void DelayLoop();
  void ReportDepth();

  const std::string name_;
  Clock& clock_;
  std::unique_ptr<QueueRateLimiter> limiter_;
  std::shared_ptr<Metrics> metrics_;
  mutable std::mutex mu_;
  size_t waiters_ = 0;
  std::condition_variable ready_cv_;
  std::condition_variable delay_cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;       // queued, or re-added while processing
  std::set<std::string> processing_;  // handed out, Done not yet called
  using Delayed = std::pair<SteadyTime, std::string>;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
  bool shutting_down_ = false;
  std::thread delay_thread_;
};

// What a reconcile asks of the queue besides success or failure (a thrown exception).
struct ReconcileResult {
  bool requeue = false;                       // come back after the rate limiter's delay
  Duration requeue_after = Duration::zero();  // come back after this long (wins over requeue)
};

// N worker threads: Get -> reconcile -> Forget (or AddRateLimited when it threw, AddAfter /
// AddRateLimited as the result asks) -> Done, until the queue shuts down.
class WorkerPool {
 public:
  using Reconcile = std::function<ReconcileResult(const std::string& key)>;
  WorkerPool(WorkQueue& queue, int workers, Reconcile reconcile, std::shared_ptr<Metrics> metrics = nullptr,
             std::string name = "default");
  ~WorkerPool();  // shuts the queue down and joins

 private:
  void Work();
  WorkQueue& queue_;
  Reconcile reconcile_;
  std::shared_ptr<Metrics> metrics_;
  std::string name_;
  std::vector<std::thread> threads_;
};

}  // namespace kubecnn::kube

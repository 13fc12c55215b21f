// WorkQueue's three sets (queue, dirty, processing) follow client-go's workqueue.Type; the delay
// heap and its thread follow its delaying queue.
#include "operator/kube/work_queue.h"

#include "trainer/common/log.h"

namespace kubecnn::kube {

WorkQueue::WorkQueue(std::string name, std::unique_ptr<QueueRateLimiter> limiter, std::shared_ptr<Metrics> metrics,
                     Clock* clock)
    : name_(std::move(name)),
      clock_(clock ? *clock : RealClock()),
      limiter_(limiter ? std::move(limiter)
                       : std::make_unique<ControllerRateLimiter>(std::chrono::milliseconds(5),
                                                                 std::chrono::seconds(1000), 10, 100, clock_.Now())),
      metrics_(metrics ? std::move(metrics) : std::make_shared<Metrics>()) {
  ReportDepth();  // the depth series exists (at 0) before the first add
  delay_thread_ = std::thread([this] { DelayLoop(); });
}

WorkQueue::~WorkQueue() {
  ShutDown();
  if (delay_thread_.joinable()) delay_thread_.join();
}

void WorkQueue::ReportDepth() { metrics_->SetQueueDepth(name_, static_cast<double>(queue_.size())); }

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  metrics_->CountQueueAdd(name_);
  if (processing_.count(key)) return;  // Done will queue it
  queue_.push_back(key);
  ReportDepth();
  ready_cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  if (delay <= Duration::zero()) {
    AddLocked(key);
    return;
  }
  delayed_.push({clock_.Now() + delay, key});
  delay_cv_.notify_one();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  metrics_->CountQueueRetry(name_);
  AddAfter(key, limiter_->When(key, clock_.Now()));
}

void WorkQueue::Forget(const std::string& key) { limiter_->Forget(key); }

int WorkQueue::NumRequeues(const std::string& key) { return limiter_->NumRequeues(key); }

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  ++waiters_;
  ready_cv_.wait(lock, [this] { return !queue_.empty() || shutting_down_; });
  --waiters_;
  if (queue_.empty()) return std::nullopt;
  std::string key = queue_.front();
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  ReportDepth();
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key)) {
    queue_.push_back(key);
    ReportDepth();
    ready_cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  ready_cv_.notify_all();
  delay_cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() {
  std::lock_guard<std::mutex> lock(mu_);
  PromoteDueLocked();  // so a moved clock is seen at once, not when the delay thread next looks
  return queue_.size();
}

size_t WorkQueue::Waiters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_;
}

void WorkQueue::PromoteDueLocked() {
  const SteadyTime now = clock_.Now();
  while (!delayed_.empty() && delayed_.top().first <= now) {
    const std::string key = delayed_.top().second;
    delayed_.pop();
    AddLocked(key);
  }
}

void WorkQueue::DelayLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    PromoteDueLocked();
    if (delayed_.empty()) {
      delay_cv_.wait(lock);
    } else {
      clock_.WaitUntil(delay_cv_, lock, delayed_.top().first);
    }
  }
}

WorkerPool::WorkerPool(WorkQueue& queue, int workers, Reconcile reconcile, std::shared_ptr<Metrics> metrics,
                       std::string name)
    : queue_(queue),
      reconcile_(std::move(reconcile)),
      metrics_(metrics ? std::move(metrics) : std::make_shared<Metrics>()),
      name_(std::move(name)) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  queue_.ShutDown();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::Work() {
  while (std::optional<std::string> key = queue_.Get()) {
    const SteadyTime start = std::chrono::steady_clock::now();
    try {
      const ReconcileResult result = reconcile_(*key);
      if (result.requeue_after > Duration::zero()) {
        queue_.Forget(*key);
        queue_.AddAfter(*key, result.requeue_after);
      } else if (result.requeue) {
        queue_.AddRateLimited(*key);
      } else {
        queue_.Forget(*key);
      }
    } catch (const std::exception& e) {
      LogWarning("workqueue " + name_, "reconciling " + *key + " failed (retry " +
                                           std::to_string(queue_.NumRequeues(*key) + 1) +
                                           " with back-off): " + e.what());
      queue_.AddRateLimited(*key);
    }
    metrics_->ObserveWork(name_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    queue_.Done(*key);
  }
}

}  // namespace kubecnn::kube

// ProgressTracker: per-job scrape state shared with the scraper's callbacks, which may outlive it.
#include "operator/controller/progress_tracker.h"

#include <condition_variable>
#include <map>
#include <mutex>

namespace kubecnn::controller {

struct ProgressTracker::Shared {
  struct Job {
    bool in_flight = false;
    uint64_t generation = 0;  // a scrape of an entry that Forget removed meanwhile is dropped
    std::optional<kube::SteadyTime> started;
    std::optional<api::Progress> result;
  };
  std::mutex mu;
  std::condition_variable idle;
  bool alive = true;
  int waking = 0;  // wake calls in progress
  uint64_t generations = 0;
  std::function<void(const std::string&)> wake;
  std::map<std::string, Job> jobs;
};

ProgressTracker::ProgressTracker(std::shared_ptr<ProgressScraper> scraper, std::chrono::seconds period,
                                 kube::Clock& clock, std::function<void(const std::string& key)> wake)
    : scraper_(std::move(scraper)), period_(period), clock_(clock), shared_(std::make_shared<Shared>()) {
  shared_->wake = std::move(wake);
}

ProgressTracker::~ProgressTracker() {
  std::unique_lock<std::mutex> lock(shared_->mu);
  shared_->alive = false;
  shared_->idle.wait(lock, [this] { return shared_->waking == 0; });
}

std::optional<api::Progress> ProgressTracker::Poll(const std::string& key, const std::string& host, int port) {
  std::optional<api::Progress> result;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    auto [it, added] = shared_->jobs.try_emplace(key);
    Shared::Job& job = it->second;
    if (added) job.generation = ++shared_->generations;
    result = std::move(job.result);
    job.result.reset();
    const kube::SteadyTime now = clock_.Now();
    if (job.in_flight || (job.started && now - *job.started < period_)) return result;
    job.in_flight = true;
    job.started = now;
    generation = job.generation;
  }
  std::weak_ptr<Shared> weak = shared_;
  scraper_->ScrapeAsync(host, port, [weak, key, generation](std::optional<api::Progress> progress) {
    const std::shared_ptr<Shared> shared = weak.lock();
    if (!shared) return;
    std::function<void(const std::string&)> wake;
    {
      std::lock_guard<std::mutex> lock(shared->mu);
      auto it = shared->jobs.find(key);
      if (!shared->alive || it == shared->jobs.end() || it->second.generation != generation) return;
      it->second.in_flight = false;
      if (!progress) return;  // nothing new: the next period's pass tries again
      it->second.result = std::move(progress);
      ++shared->waking;
      wake = shared->wake;
    }
    wake(key);
    std::lock_guard<std::mutex> lock(shared->mu);
    --shared->waking;
    shared->idle.notify_all();
  });
  return result;
}

void ProgressTracker::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->jobs.erase(key);
}

}  // namespace kubecnn::controller

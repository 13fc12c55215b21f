// Progress of running jobs, scraped off the reconcile workers: at most one scrape in flight per
// job and one per period; a finished scrape is handed to the job's next pass once, and wakes it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "operator/api/training_job.h"
#include "operator/controller/progress.h"
#include "operator/kube/clock.h"

namespace kubecnn::controller {

class ProgressTracker {
 public:
  // `wake(key)` asks for a pass of that job (the controller enqueues it); `clock` times the period.
  ProgressTracker(std::shared_ptr<ProgressScraper> scraper, std::chrono::seconds period, kube::Clock& clock,
                  std::function<void(const std::string& key)> wake);
  // Waits for a wake in progress; results that arrive later are dropped.
  ~ProgressTracker();
  ProgressTracker(const ProgressTracker&) = delete;
  ProgressTracker& operator=(const ProgressTracker&) = delete;

  // For job `key`, whose launcher runs with rank 0 at host:port: the result of a scrape finished
  // since the last call (once; nullopt when none or when it found nothing), and a new scrape started
  // when none is in flight and `period` has passed since the last began. Never blocks.
  std::optional<api::Progress> Poll(const std::string& key, const std::string& host, int port);
  // The job is gone (or no longer running): its pending result is dropped.
  void Forget(const std::string& key);

 private:
  struct Shared;
  std::shared_ptr<ProgressScraper> scraper_;
  std::chrono::seconds period_;
  kube::Clock& clock_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace kubecnn::controller

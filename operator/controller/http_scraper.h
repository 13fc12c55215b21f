// HttpProgressScraper: rank 0's /metrics read over HTTP with libcurl's multi interface on one
// thread of its own. The pod runs a user-chosen image, so every answer is bounded in size and time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "operator/controller/controller_metrics.h"
#include "operator/controller/progress.h"

namespace kubecnn::controller {

// http://<host>:<port>/metrics for a pod IP: an IPv6 address goes in brackets, its zone
// (fe80::1%eth0) percent-encoded; a host already in brackets is kept.
std::string MetricsUrl(const std::string& host, int port);

// What one scrape may cost. The trainer's own exposition is a few KiB.
struct ScrapeLimits {
  std::chrono::milliseconds deadline{2000};  // connect to last byte, however the bytes trickle
  size_t max_body_bytes = 1024 * 1024;
  long max_connections = 64;  // scrapes past it wait (inside their deadline) for a free one
};

class HttpProgressScraper : public ProgressScraper {
 public:
  explicit HttpProgressScraper(std::shared_ptr<ScrapeMetrics> metrics, ScrapeLimits limits = {});
  // Ends every scrape in flight (each `done` gets nullopt) and returns.
  ~HttpProgressScraper() override;
  HttpProgressScraper(const HttpProgressScraper&) = delete;
  HttpProgressScraper& operator=(const HttpProgressScraper&) = delete;

  // Returns at once; `done` runs on the scraper's thread.
  void ScrapeAsync(const std::string& host, int port, Done done) override;

  struct Transfer;  // public for libcurl's C callbacks

 private:
  void Loop();

  std::shared_ptr<ScrapeMetrics> metrics_;
  ScrapeLimits limits_;
  void* multi_ = nullptr;  // CURLM*
  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queued_;  // guarded by mu_: handed to the loop's thread
  bool stopping_ = false;                         // guarded by mu_
  std::thread thread_;
};

}  // namespace kubecnn::controller

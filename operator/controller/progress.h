// Training progress for status.progress, read from rank 0's Prometheus endpoint, and evaluation
// results for status.evaluation, read from the launcher's termination message.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "operator/api/training_job.h"

namespace kubecnn::controller {

// Reads kubecnn_train_{step,epoch,images_per_second,loss,learning_rate} from Prometheus text
// exposition (any labels; the first sample of each). nullopt when none is present.
std::optional<api::Progress> ParseTrainerMetrics(const std::string& text);

// Parses the trainer's eval JSON ({"top1": 0.76, "top5": 0.93, "images": 50000, "step": ..,
// "checkpoint": ..}). Throws std::invalid_argument saying what is missing or malformed.
api::EvaluationResult ParseEvaluationResult(const std::string& text);

// Where progress comes from; tests replace it.
class ProgressScraper {
 public:
  virtual ~ProgressScraper() = default;
  // Progress from http://<host>:<port>/metrics; nullopt when unreachable or not (yet) serving.
  virtual std::optional<api::Progress> Scrape(const std::string& host, int port) = 0;
};

// Plain HTTP/1.0 GET with connect and read timeouts, so a hung rank cannot stall a reconcile.
class HttpProgressScraper : public ProgressScraper {
 public:
  explicit HttpProgressScraper(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000))
      : timeout_(timeout) {}
  std::optional<api::Progress> Scrape(const std::string& host, int port) override;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace kubecnn::controller

// Training progress for status.progress, read from rank 0's Prometheus endpoint (through a
// ProgressScraper: http_scraper.h), and evaluation results for status.evaluation, read from the
// launcher's termination message.
#pragma once

#include <functional>
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
  using Done = std::function<void(std::optional<api::Progress>)>;
  virtual ~ProgressScraper() = default;
  // Starts reading http://<host>:<port>/metrics and returns at once; `done` gets the progress later
  // (on another thread, or on this one before returning), or nullopt when the endpoint is
  // unreachable, too slow or not (yet) serving.
  virtual void ScrapeAsync(const std::string& host, int port, Done done) = 0;
};

}  // namespace kubecnn::controller

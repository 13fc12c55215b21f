// The controller's Prometheus metrics, declared together: TrainingJobs by phase, reconcile
// duration, reconcile errors, gang restarts and refused progress scrapes
// (kubecnn_operator_<noun>_<unit>).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

namespace kubecnn::controller {

class ControllerMetrics {
 public:
  explicit ControllerMetrics(prometheus::Registry& registry);

  void ObserveReconcile(double seconds);
  void CountError(const std::string& stage);  // "apply", "status", "decode"
  void CountGangRestart();
  // Keeps the by-phase gauge equal to the phases of the jobs seen ("" when the job is gone).
  void SetPhase(const std::string& job_key, const std::string& phase);

  double GangRestarts() const { return gang_restarts_.Value(); }
  uint64_t Reconciles() const;  // passes finished (the reconcile histogram's count)
  double Errors(const std::string& stage);
  double JobsInPhase(const std::string& phase);

 private:
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Histogram& reconcile_seconds_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Counter& gang_restarts_;
  std::mutex mu_;
  std::map<std::string, std::string> phases_;
};

// Why a scrape of a trainer's /metrics gave no progress. The pod runs a user-chosen image, so
// its endpoint is untrusted: answers too large or too slow are cut off, not waited for.
enum class ScrapeRefusal { kBodyTooLarge, kDeadlineExceeded, kHttpStatus, kConnectionFailed };
const char* Name(ScrapeRefusal reason);  // "body_too_large", ...: the metric's reason label

class ScrapeMetrics {
 public:
  explicit ScrapeMetrics(prometheus::Registry& registry);
  void CountRefused(ScrapeRefusal reason);
  double Refused(ScrapeRefusal reason) const;

 private:
  std::map<ScrapeRefusal, prometheus::Counter*> refused_;
};

}  // namespace kubecnn::controller

// Controller metric families.
#include "operator/controller/controller_metrics.h"

#include "operator/api/enums.h"

namespace kubecnn::controller {

namespace {
const char* const kErrorStages[] = {"apply", "status", "decode"};  // CountError's stages
}  // namespace

ControllerMetrics::ControllerMetrics(prometheus::Registry& registry)
    : jobs_(prometheus::BuildGauge()
                .Name("kubecnn_operator_trainingjobs")
                .Help("TrainingJobs by status.phase, as last reconciled")
                .Register(registry)),
      reconcile_seconds_(prometheus::BuildHistogram()
                             .Name("kubecnn_operator_reconcile_duration_seconds")
                             .Help("Time of one TrainingJob reconcile pass, API calls included")
                             .Register(registry)
                             .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                              0.25, 0.5, 1, 2.5, 5, 10})),
      errors_(prometheus::BuildCounter()
                  .Name("kubecnn_operator_reconcile_errors_total")
                  .Help("Reconcile passes that failed, by stage (they are retried with back-off)")
                  .Register(registry)),
      gang_restarts_(prometheus::BuildCounter()
                         .Name("kubecnn_operator_gang_restarts_total")
                         .Help("Whole-gang restarts after a worker or launcher failed")
                         .Register(registry)
                         .Add({})) {
  // Every series exists from the start (at 0), so dashboards and alerts see a value, not no data.
  for (api::Phase phase : api::kAllPhases) jobs_.Add({{"phase", api::Name(phase)}}).Set(0);
  for (const char* stage : kErrorStages) errors_.Add({{"stage", stage}});
}

void ControllerMetrics::ObserveReconcile(double seconds) { reconcile_seconds_.Observe(seconds); }

uint64_t ControllerMetrics::Reconciles() const { return reconcile_seconds_.Collect().histogram.sample_count; }
void ControllerMetrics::CountError(const std::string& stage) { errors_.Add({{"stage", stage}}).Increment(); }
void ControllerMetrics::CountGangRestart() { gang_restarts_.Increment(); }
double ControllerMetrics::Errors(const std::string& stage) { return errors_.Add({{"stage", stage}}).Value(); }
double ControllerMetrics::JobsInPhase(const std::string& phase) { return jobs_.Add({{"phase", phase}}).Value(); }

void ControllerMetrics::SetPhase(const std::string& job_key, const std::string& phase) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = phases_.find(job_key);
  const std::string old = it == phases_.end() ? "" : it->second;
  if (old == phase) return;
  if (!old.empty()) jobs_.Add({{"phase", old}}).Decrement();
  if (phase.empty()) {
    phases_.erase(job_key);
  } else {
    phases_[job_key] = phase;
    jobs_.Add({{"phase", phase}}).Increment();
  }
}

const char* Name(ScrapeRefusal reason) {
  switch (reason) {
    case ScrapeRefusal::kBodyTooLarge: return "body_too_large";
    case ScrapeRefusal::kDeadlineExceeded: return "deadline_exceeded";
    case ScrapeRefusal::kHttpStatus: return "http_status";
    case ScrapeRefusal::kConnectionFailed: return "connection_failed";
  }
  return "unknown";
}

ScrapeMetrics::ScrapeMetrics(prometheus::Registry& registry) {
  auto& family = prometheus::BuildCounter()
                     .Name("kubecnn_operator_progress_scrapes_refused_total")
                     .Help(
                         "Scrapes of a trainer's /metrics that gave no progress, by reason: body_too_large and "
                         "deadline_exceeded were cut off by the operator's limits")
                     .Register(registry);
  for (ScrapeRefusal reason : {ScrapeRefusal::kBodyTooLarge, ScrapeRefusal::kDeadlineExceeded,
                               ScrapeRefusal::kHttpStatus, ScrapeRefusal::kConnectionFailed}) {
    refused_[reason] = &family.Add({{"reason", Name(reason)}});
  }
}

void ScrapeMetrics::CountRefused(ScrapeRefusal reason) { refused_.at(reason)->Increment(); }
double ScrapeMetrics::Refused(ScrapeRefusal reason) const { return refused_.at(reason)->Value(); }

}  // namespace kubecnn::controller

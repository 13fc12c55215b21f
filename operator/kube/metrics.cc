// Metric families and their label sets.
#include "operator/kube/metrics.h"

namespace kubecnn::kube {
namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                            0.25,  0.5,   1,    2.5,   5,    10};
  return b;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("kubecnn_operator_api_requests_total")
                    .Help("Kubernetes API requests by verb and HTTP code (code 0: no response)")
                    .Register(*registry_)),
      request_seconds_(prometheus::BuildHistogram()
                           .Name("kubecnn_operator_api_request_duration_seconds")
                           .Help("Kubernetes API request latency by verb, retries excluded")
                           .Register(*registry_)),
      retries_(prometheus::BuildCounter()
                   .Name("kubecnn_operator_api_retries_total")
                   .Help("Kubernetes API requests retried, by reason (429, 5xx, unauthorized)")
                   .Register(*registry_)),
      watch_restarts_(prometheus::BuildCounter()
                          .Name("kubecnn_operator_watch_restarts_total")
                          .Help("Watches re-established, by resource and reason (closed, error, gone)")
                          .Register(*registry_)),
      relists_(prometheus::BuildCounter()
                   .Name("kubecnn_operator_relists_total")
                   .Help("Full re-lists by informers, by resource (start-up, 410 Gone)")
                   .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("kubecnn_operator_workqueue_depth")
                       .Help("Keys waiting in a work queue, by queue")
                       .Register(*registry_)),
      queue_adds_(prometheus::BuildCounter()
                      .Name("kubecnn_operator_workqueue_adds_total")
                      .Help("Keys added to a work queue, by queue")
                      .Register(*registry_)),
      queue_retries_(prometheus::BuildCounter()
                         .Name("kubecnn_operator_workqueue_retries_total")
                         .Help("Keys re-queued with back-off after a failure, by queue")
                         .Register(*registry_)),
      work_seconds_(prometheus::BuildHistogram()
                        .Name("kubecnn_operator_workqueue_work_duration_seconds")
                        .Help("Time spent processing one key, by queue")
                        .Register(*registry_)),
      leader_(prometheus::BuildGauge()
                  .Name("kubecnn_operator_leader")
                  .Help("1 while this process holds the leader-election lease, else 0")
                  .Register(*registry_)
                  .Add({})),
      events_(prometheus::BuildCounter()
                  .Name("kubecnn_operator_events_total")
                  .Help("Kubernetes Events recorded, by type and outcome (created, aggregated, dropped)")
                  .Register(*registry_)) {}

void Metrics::ObserveRequest(const std::string& verb, int code, double seconds) {
  requests_.Add({{"verb", verb}, {"code", std::to_string(code)}}).Increment();
  request_seconds_.Add({{"verb", verb}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::CountRetry(const std::string& reason) { retries_.Add({{"reason", reason}}).Increment(); }

void Metrics::CountWatchRestart(const std::string& resource, const std::string& reason) {
  watch_restarts_.Add({{"resource", resource}, {"reason", reason}}).Increment();
}

void Metrics::CountRelist(const std::string& resource) { relists_.Add({{"resource", resource}}).Increment(); }

void Metrics::SetQueueDepth(const std::string& queue, double depth) { queue_depth_.Add({{"queue", queue}}).Set(depth); }

void Metrics::CountQueueAdd(const std::string& queue) { queue_adds_.Add({{"queue", queue}}).Increment(); }

void Metrics::CountQueueRetry(const std::string& queue) { queue_retries_.Add({{"queue", queue}}).Increment(); }

void Metrics::ObserveWork(const std::string& queue, double seconds) {
  work_seconds_.Add({{"queue", queue}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::SetLeader(bool leading) { leader_.Set(leading ? 1 : 0); }

void Metrics::CountEvent(const std::string& type, const std::string& outcome) {
  events_.Add({{"type", type}, {"outcome", outcome}}).Increment();
}

}  // namespace kubecnn::kube

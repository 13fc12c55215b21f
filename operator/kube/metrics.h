// The operator's Prometheus metrics, declared in one place: API requests, watches, the work
// queue, leader election and events. Named kubecnn_operator_<noun>_<unit>.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace kubecnn::kube {

class Metrics {
 public:
  Metrics();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void ObserveRequest(const std::string& verb, int code, double seconds);  // code 0: no response
  void CountRetry(const std::string& reason);                              // "429", "5xx", "transport"
  void CountWatchRestart(const std::string& resource, const std::string& reason);
  void CountRelist(const std::string& resource);
  void SetQueueDepth(const std::string& queue, double depth);
  void CountQueueAdd(const std::string& queue);
  void CountQueueRetry(const std::string& queue);
  void ObserveWork(const std::string& queue, double seconds);
  void SetLeader(bool leading);
  void CountEvent(const std::string& type, const std::string& outcome);  // created, aggregated, dropped

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& watch_restarts_;
  prometheus::Family<prometheus::Counter>& relists_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Counter>& queue_adds_;
  prometheus::Family<prometheus::Counter>& queue_retries_;
  prometheus::Family<prometheus::Histogram>& work_seconds_;
  prometheus::Gauge& leader_;
  prometheus::Family<prometheus::Counter>& events_;
};

}  // namespace kubecnn::kube

// Kubernetes Events (core/v1) about the objects the operator manages, with client-go's two
// guards against flooding: identical events within a window become one event with a count, and
// each involved object has a token bucket (burst 25, then one per 5 minutes) beyond which events
// are dropped and counted.
#pragma once

#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/kube/client.h"
#include "operator/kube/rate_limiter.h"

namespace kubecnn::kube {

struct EventRecorderOptions {
  std::string component = "kubecnn-operator";
  std::string host;
  Duration aggregation_window = std::chrono::minutes(10);
  int burst = 25;
  double refill_per_second = 1.0 / 300;
  size_t max_tracked = 4096;  // aggregation keys remembered (least recently used go first)
};

// The involvedObject reference for an object (kind, apiVersion, namespace, name, uid, resourceVersion).
nlohmann::json ObjectReference(const nlohmann::json& object);
// Identical events share this key: who it is about, and type, reason and message.
std::string EventAggregationKey(const nlohmann::json& reference, const std::string& type, const std::string& reason,
                                const std::string& message);
// The Event to create, named <involved name>.<hex nanoseconds> as kubectl and client-go do.
nlohmann::json NewEvent(const nlohmann::json& reference, const std::string& type, const std::string& reason,
                        const std::string& message, const EventRecorderOptions& options, WallTime now);

class EventRecorder {
 public:
  EventRecorder(Client& client, EventRecorderOptions options = {});
  // Records an event about `object` (type "Normal" or "Warning"; reason a CamelCase constant).
  // Never throws: a failure to record is logged and counted, not the caller's problem.
  void Record(const nlohmann::json& object, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  struct Seen {
    std::string event_name;
    std::string ns;
    int64_t count = 0;
    SteadyTime last;
    std::list<std::string>::iterator lru;
  };
  Client& client_;
  EventRecorderOptions options_;
  std::mutex mu_;
  std::map<std::string, Seen> seen_;
  std::list<std::string> lru_;
  std::map<std::string, TokenBucket> buckets_;  // per involved object uid/key
};

}  // namespace kubecnn::kube

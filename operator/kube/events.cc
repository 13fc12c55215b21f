// EventRecorder: aggregate identical events into counts, rate-limit per object, write through the client.
#include "operator/kube/events.h"

#include <cstdio>

#include "operator/kube/api_error.h"
#include "trainer/common/log.h"

namespace kubecnn::kube {

nlohmann::json ObjectReference(const nlohmann::json& object) {
  const nlohmann::json& meta = MetadataOf(object);
  nlohmann::json ref = {{"kind", object.value("kind", "")},
                        {"apiVersion", object.value("apiVersion", "")},
                        {"name", meta.value("name", "")},
                        {"uid", meta.value("uid", "")}};
  if (!meta.value("namespace", "").empty()) ref["namespace"] = meta["namespace"];
  if (!meta.value("resourceVersion", "").empty()) ref["resourceVersion"] = meta["resourceVersion"];
  return ref;
}

std::string EventAggregationKey(const nlohmann::json& reference, const std::string& type, const std::string& reason,
                                const std::string& message) {
  return reference.value("namespace", "") + "\x1f" + reference.value("kind", "") + "\x1f" +
         reference.value("name", "") + "\x1f" + reference.value("uid", "") + "\x1f" + type + "\x1f" + reason + "\x1f" +
         message;
}

nlohmann::json NewEvent(const nlohmann::json& reference, const std::string& type, const std::string& reason,
                        const std::string& message, const EventRecorderOptions& options, WallTime now) {
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%llx",
                static_cast<unsigned long long>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
  const std::string ns = reference.value("namespace", "default");
  const std::string stamp = FormatTime(now);
  return {{"metadata", {{"name", reference.value("name", "object") + "." + suffix}, {"namespace", ns}}},
          {"involvedObject", reference},
          {"type", type},
          {"reason", reason},
          {"message", message},
          {"source", {{"component", options.component}, {"host", options.host}}},
          {"reportingComponent", options.component},
          {"reportingInstance", options.host},
          {"firstTimestamp", stamp},
          {"lastTimestamp", stamp},
          {"count", 1}};
}

EventRecorder::EventRecorder(Client& client, EventRecorderOptions options) : client_(client), options_(options) {}

void EventRecorder::Record(const nlohmann::json& object, const std::string& type, const std::string& reason,
                           const std::string& message) {
  const nlohmann::json reference = ObjectReference(object);
  const std::string key = EventAggregationKey(reference, type, reason, message);
  const SteadyTime now = client_.clock().Now();
  const WallTime wall = client_.clock().WallNow();
  std::string patch_name, patch_ns;
  int64_t count = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string object_key = reference.value("uid", "") + "/" + reference.value("name", "");
    auto bucket = buckets_.try_emplace(object_key, options_.refill_per_second, options_.burst, now).first;
    auto it = seen_.find(key);
    const bool aggregate = it != seen_.end() && now - it->second.last < options_.aggregation_window;
    // Aggregated updates are cheap and bounded by the window; only new events spend tokens.
    if (!aggregate && bucket->second.Reserve(now) > Duration::zero()) {
      client_.metrics().CountEvent(type, "dropped");
      return;
    }
    if (aggregate) {
      Seen& s = it->second;
      s.count += 1;
      s.last = now;
      lru_.splice(lru_.begin(), lru_, s.lru);
      patch_name = s.event_name;
      patch_ns = s.ns;
      count = s.count;
    }
  }
  try {
    if (!patch_name.empty()) {
      try {
        client_.MergePatch(resources::kEvents, patch_ns, patch_name,
                           {{"count", count}, {"lastTimestamp", FormatTime(wall)}});
        client_.metrics().CountEvent(type, "aggregated");
        return;
      } catch (const std::exception& e) {
        if (!IsNotFound(e)) throw;  // the event expired (TTL): start a new one
      }
    }
    const nlohmann::json event = NewEvent(reference, type, reason, message, options_, wall);
    const std::string ns = event["metadata"]["namespace"];
    client_.Create(resources::kEvents, ns, event);
    client_.metrics().CountEvent(type, "created");
    std::lock_guard<std::mutex> lock(mu_);
    auto it = seen_.find(key);
    if (it == seen_.end()) {
      lru_.push_front(key);
      it = seen_.emplace(key, Seen{"", "", 0, now, lru_.begin()}).first;
    } else {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    it->second.event_name = event["metadata"]["name"];
    it->second.ns = ns;
    it->second.count = 1;
    it->second.last = now;
    while (seen_.size() > options_.max_tracked) {
      seen_.erase(lru_.back());
      lru_.pop_back();
    }
  } catch (const std::exception& e) {
    client_.metrics().CountEvent(type, "failed");
    LogWarning("events", "could not record " + type + " event " + reason + " for " + reference.value("kind", "") + " " +
                             reference.value("name", "") + ": " + e.what());
  }
}

}  // namespace kubecnn::kube

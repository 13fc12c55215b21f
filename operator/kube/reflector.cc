// Reflector::Run: list -> watch -> (resume | re-list) until stopped.
#include "operator/kube/reflector.h"

#include "operator/kube/api_error.h"
#include "trainer/common/log.h"

namespace kubecnn::kube {

Reflector::Reflector(Client& client, Resource resource, ReflectorOptions options, ObjectStore& store,
                     std::mutex& dispatch_mu, std::function<void(const Delta&)> deliver,
                     std::function<void()> on_synced)
    : client_(client),
      resource_(std::move(resource)),
      options_(std::move(options)),
      store_(store),
      dispatch_mu_(dispatch_mu),
      deliver_(std::move(deliver)),
      on_synced_(std::move(on_synced)),
      random_(std::random_device{}()),
      component_("reflector " + resource_.plural) {}

int Reflector::RandomTimeout() {
  const int64_t min = std::max<int64_t>(1, options_.min_watch_timeout.count());
  return static_cast<int>(min + static_cast<int64_t>(random_() % static_cast<uint64_t>(min)));
}

bool Reflector::ListAndReplace(std::string* resource_version) {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  ObjectList list;
  try {
    list = client_.ListAll(resource_, options_.ns, list_options);
  } catch (const std::exception& e) {
    LogWarning(component_, std::string("list failed, will retry with back-off: ") + e.what());
    return false;
  }
  ++relists_;
  client_.metrics().CountRelist(resource_.plural);
  {
    std::lock_guard<std::mutex> lock(dispatch_mu_);
    for (const Delta& delta : store_.Replace(std::move(list.items))) deliver_(delta);
  }
  *resource_version = list.resource_version;
  if (on_synced_) {
    on_synced_();
    on_synced_ = nullptr;
  }
  return true;
}

Reflector::WatchEnd Reflector::WatchOnce(std::string* resource_version, StopSignal& stop) {
  WatchOptions watch;
  watch.resource_version = *resource_version;
  watch.label_selector = options_.label_selector;
  watch.field_selector = options_.field_selector;
  watch.allow_bookmarks = true;
  watch.timeout_seconds = RandomTimeout();
  WatchEnd end = WatchEnd::kClosed;
  try {
    client_.Watch(
        resource_, options_.ns, watch,
        [&](WatchEvent&& event) {
          switch (event.type) {
            case WatchEventType::kBookmark: *resource_version = ResourceVersionOf(event.object); return true;
            case WatchEventType::kError: {
              const int code = event.object.value("code", 0);
              end = code == 410 ? WatchEnd::kGone : WatchEnd::kError;
              if (end == WatchEnd::kError) {
                LogWarning(component_, "watch error event: " + event.object.value("message", event.object.dump()));
              }
              return false;
            }
            default: {
              std::lock_guard<std::mutex> lock(dispatch_mu_);
              std::string version = ResourceVersionOf(event.object);
              for (const Delta& delta : store_.Apply(std::move(event))) deliver_(delta);
              *resource_version = std::move(version);
              ++events_;
              return true;
            }
          }
        },
        &stop);
  } catch (const ApiError& e) {
    if (e.code() == 410) return WatchEnd::kGone;
    LogWarning(component_, std::string("watch refused: ") + e.what());
    return WatchEnd::kError;
  } catch (const std::exception& e) {  // TransportError, or a malformed event line
    if (stop.stopped()) return WatchEnd::kStopped;
    LogWarning(component_,
               std::string("watch broke, resuming from resourceVersion ") + *resource_version + ": " + e.what());
    return WatchEnd::kError;
  }
  return stop.stopped() ? WatchEnd::kStopped : end;
}

void Reflector::Run(StopSignal& stop) {
  int failures = 0;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  while (!stop.stopped()) {
    std::string rv;
    if (!ListAndReplace(&rv)) {
      stop.SleepFor(BackoffDelay(options_.backoff, failures++, unit(random_)));
      continue;
    }
    failures = 0;
    while (!stop.stopped()) {
      const SteadyTime started = std::chrono::steady_clock::now();
      const int64_t events_before = events_;
      const WatchEnd end = WatchOnce(&rv, stop);
      if (end == WatchEnd::kStopped) return;
      ++watch_restarts_;
      const char* reason = end == WatchEnd::kGone ? "gone" : end == WatchEnd::kError ? "error" : "closed";
      client_.metrics().CountWatchRestart(resource_.plural, reason);
      if (end == WatchEnd::kGone) {
        LogInfo(component_, "resourceVersion " + rv + " is gone (history compacted); listing again");
        break;
      }
      // A stream that closes at once without events is failing, however politely.
      const bool quick_empty =
          events_ == events_before && std::chrono::steady_clock::now() - started < std::chrono::seconds(1);
      if (end == WatchEnd::kError || quick_empty) {
        stop.SleepFor(BackoffDelay(options_.backoff, failures++, unit(random_)));
      } else {
        failures = 0;
      }
    }
  }
}

}  // namespace kubecnn::kube

// The reflector: list, then watch from the list's resourceVersion, folding every change into an
// ObjectStore and handing each delta on. Watches end (server timeout, dropped connection) and are
// resumed from the last version seen, bookmarks included; 410 Gone, over HTTP or as an in-stream
// ERROR, means the version was compacted away, so it lists again. Failures back off exponentially.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <random>
#include <string>

#include "operator/kube/backoff.h"
#include "operator/kube/client.h"
#include "operator/kube/object_store.h"

namespace kubecnn::kube {

struct ReflectorOptions {
  std::string ns;  // "" = all namespaces (or a cluster-scoped resource)
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  // Each watch asks the server to end it after a random time in [min, 2*min), so reconnects of
  // many clients spread out (client-go: 5 minutes).
  std::chrono::seconds min_watch_timeout{300};
  BackoffPolicy backoff{std::chrono::milliseconds(800), std::chrono::milliseconds(30000), 2.0, 1.0};
};

class Reflector {
 public:
  // `deliver` is called with each delta while `dispatch_mu` is held, so deltas reach handlers in
  // the order the cache saw them. `on_synced` runs once, after the first list is in the cache.
  Reflector(Client& client, Resource resource, ReflectorOptions options, ObjectStore& store, std::mutex& dispatch_mu,
            std::function<void(const Delta&)> deliver, std::function<void()> on_synced);

  // Runs until `stop`; API and connection failures are logged, counted and retried, never thrown.
  void Run(StopSignal& stop);

  int64_t relists() const { return relists_; }
  int64_t watch_restarts() const { return watch_restarts_; }
  int64_t events() const { return events_; }

 private:
  enum class WatchEnd { kClosed, kGone, kError, kStopped };
  WatchEnd WatchOnce(std::string* resource_version, StopSignal& stop);
  bool ListAndReplace(std::string* resource_version);
  int RandomTimeout();

  Client& client_;
  Resource resource_;
  ReflectorOptions options_;
  ObjectStore& store_;
  std::mutex& dispatch_mu_;
  std::function<void(const Delta&)> deliver_;
  std::function<void()> on_synced_;
  std::mt19937_64 random_;
  std::string component_;
  std::atomic<int64_t> relists_{0};
  std::atomic<int64_t> watch_restarts_{0};
  std::atomic<int64_t> events_{0};
};

}  // namespace kubecnn::kube

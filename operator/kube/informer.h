// An informer: a reflector thread keeping an ObjectStore in step with the server, event handlers
// called in order for every add/update/delete, periodic resync (every cached object handed to
// on_update again, so level-triggered controllers re-check), and HasSynced for readiness.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "operator/kube/reflector.h"

namespace kubecnn::kube {

struct ResourceEventHandlers {
  std::function<void(const nlohmann::json& object)> on_add;
  std::function<void(const nlohmann::json& old_object, const nlohmann::json& new_object)> on_update;
  // The object's last known state; after a re-list that missed the deletion, the cached state.
  std::function<void(const nlohmann::json& object)> on_delete;
};

struct InformerOptions {
  ReflectorOptions reflector;
  Duration resync_period = Duration::zero();  // zero: no resync
  Transform transform = DropManagedFields;    // what the cache keeps of each object
};

class Informer {
 public:
  Informer(Client& client, Resource resource, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Handlers run on the informer's threads, one call at a time; an exception is logged and dropped.
  void AddHandlers(ResourceEventHandlers handlers);  // before Start
  void Start();
  void Stop();  // idempotent; joins the threads
  bool HasSynced() const;
  bool WaitForSync(Duration timeout) const;
  const ObjectStore& store() const { return store_; }
  const Reflector& reflector() const { return reflector_; }

 private:
  void Deliver(const Delta& delta);
  void ResyncLoop();

  Client& client_;
  Resource resource_;
  InformerOptions options_;
  ObjectStore store_;
  std::mutex dispatch_mu_;
  std::vector<ResourceEventHandlers> handlers_;
  Reflector reflector_;
  StopSignal stop_;
  std::thread reflector_thread_;
  std::thread resync_thread_;
  mutable std::mutex sync_mu_;
  mutable std::condition_variable sync_cv_;
  bool synced_ = false;
  bool started_ = false;
};

}  // namespace kubecnn::kube

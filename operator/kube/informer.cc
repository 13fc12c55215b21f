// Informer: wiring of store, reflector, handlers and resync.
#include "operator/kube/informer.h"

#include "trainer/common/log.h"

namespace kubecnn::kube {

Informer::Informer(Client& client, Resource resource, InformerOptions options)
    : client_(client),
      resource_(resource),
      options_(options),
      store_(options_.transform),
      reflector_(
          client, resource, options.reflector, store_, dispatch_mu_, [this](const Delta& d) { Deliver(d); },
          [this] {
            std::lock_guard<std::mutex> lock(sync_mu_);
            synced_ = true;
            sync_cv_.notify_all();
          }) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandlers(ResourceEventHandlers handlers) {
  std::lock_guard<std::mutex> lock(dispatch_mu_);
  handlers_.push_back(std::move(handlers));
}

void Informer::Start() {
  if (started_) return;
  started_ = true;
  reflector_thread_ = std::thread([this] { reflector_.Run(stop_); });
  if (options_.resync_period > Duration::zero()) resync_thread_ = std::thread([this] { ResyncLoop(); });
}

void Informer::Stop() {
  stop_.Stop();
  if (reflector_thread_.joinable()) reflector_thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::HasSynced() const {
  std::lock_guard<std::mutex> lock(sync_mu_);
  return synced_;
}

bool Informer::WaitForSync(Duration timeout) const {
  std::unique_lock<std::mutex> lock(sync_mu_);
  return sync_cv_.wait_for(lock, timeout, [this] { return synced_; });
}

void Informer::Deliver(const Delta& delta) {
  for (const ResourceEventHandlers& h : handlers_) {
    try {
      switch (delta.kind) {
        case Delta::Kind::kAdd:
          if (h.on_add) h.on_add(*delta.new_object);
          break;
        case Delta::Kind::kUpdate:
          if (h.on_update) h.on_update(*delta.old_object, *delta.new_object);
          break;
        case Delta::Kind::kDelete:
          if (h.on_delete) h.on_delete(*delta.old_object);
          break;
      }
    } catch (const std::exception& e) {
      LogError("informer " + resource_.plural, std::string("event handler threw (event dropped): ") + e.what());
    }
  }
}

void Informer::ResyncLoop() {
  while (stop_.SleepFor(options_.resync_period)) {
    if (!HasSynced()) continue;
    std::lock_guard<std::mutex> lock(dispatch_mu_);
    for (const ObjectPtr& object : store_.List()) Deliver({Delta::Kind::kUpdate, object, object});
  }
}

}  // namespace kubecnn::kube

// ApplyWatchEvent, ReplaceAll and the indexed ObjectStore.
#include "operator/kube/object_store.h"

#include "operator/kube/resource.h"

namespace kubecnn::kube {
namespace {

std::string Namespace(const ObjectPtr& object) { return object ? MetadataOf(*object).value("namespace", "") : ""; }

std::vector<std::string> Owners(const ObjectPtr& object) {
  std::vector<std::string> out;
  if (!object) return out;
  const nlohmann::json& meta = MetadataOf(*object);
  const auto refs = meta.find("ownerReferences");
  if (refs == meta.end() || !refs->is_array()) return out;
  for (const nlohmann::json& ref : *refs) {
    if (ref.is_object() && ref.contains("uid") && ref["uid"].is_string()) out.push_back(ref["uid"]);
  }
  return out;
}

std::string Uid(const ObjectPtr& object) { return MetadataOf(*object).value("uid", ""); }

std::string KeyOf(const Delta& d) { return ObjectKey(d.new_object ? *d.new_object : *d.old_object); }

ObjectPtr Cached(nlohmann::json object, const Transform& transform) {
  if (transform) transform(object);
  return std::make_shared<const nlohmann::json>(std::move(object));
}

}  // namespace

void DropManagedFields(nlohmann::json& object) {
  auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) meta->erase("managedFields");
}

std::vector<Delta> ApplyWatchEvent(ObjectMap& objects, WatchEvent event, const Transform& transform) {
  const std::string key = ObjectKey(event.object);
  auto it = objects.find(key);
  std::vector<Delta> deltas;
  switch (event.type) {
    case WatchEventType::kAdded:
    case WatchEventType::kModified: {
      ObjectPtr object = Cached(std::move(event.object), transform);
      if (it != objects.end() && Uid(it->second) != Uid(object)) {
        deltas.push_back({Delta::Kind::kDelete, it->second, nullptr});
        objects.erase(it);
        it = objects.end();
      }
      if (it == objects.end()) {
        objects.emplace(key, object);
        deltas.push_back({Delta::Kind::kAdd, nullptr, object});
      } else {
        deltas.push_back({Delta::Kind::kUpdate, it->second, object});
        it->second = object;
      }
      return deltas;
    }
    case WatchEventType::kDeleted:
      if (it == objects.end()) return deltas;
      objects.erase(it);
      // Hand out the final state the server reported, as client-go does.
      deltas.push_back({Delta::Kind::kDelete, Cached(std::move(event.object), transform), nullptr});
      return deltas;
    default: return deltas;
  }
}

std::vector<Delta> ReplaceAll(ObjectMap& objects, std::vector<nlohmann::json> items, const Transform& transform) {
  ObjectMap fresh;
  for (nlohmann::json& item : items) {
    std::string key = ObjectKey(item);
    fresh[std::move(key)] = Cached(std::move(item), transform);
  }
  std::vector<Delta> deltas;
  for (auto it = objects.begin(); it != objects.end();) {
    if (!fresh.count(it->first)) {
      deltas.push_back({Delta::Kind::kDelete, it->second, nullptr});
      it = objects.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [key, object] : fresh) {
    auto it = objects.find(key);
    if (it != objects.end() && Uid(it->second) != Uid(object)) {
      deltas.push_back({Delta::Kind::kDelete, it->second, nullptr});
      objects.erase(it);
      it = objects.end();
    }
    if (it == objects.end()) {
      deltas.push_back({Delta::Kind::kAdd, nullptr, object});
      objects.emplace(key, object);
    } else if (ResourceVersionOf(*it->second) != ResourceVersionOf(*object)) {
      deltas.push_back({Delta::Kind::kUpdate, it->second, object});
      it->second = object;
    }
  }
  return deltas;
}

void ObjectStore::Index(const std::string& key, const ObjectPtr& before, const ObjectPtr& after) {
  if (before) {
    by_namespace_[Namespace(before)].erase(key);
    for (const std::string& uid : Owners(before)) {
      auto it = by_owner_.find(uid);
      if (it == by_owner_.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) by_owner_.erase(it);
    }
  }
  if (after) {
    by_namespace_[Namespace(after)].insert(key);
    for (const std::string& uid : Owners(after)) by_owner_[uid].insert(key);
  }
}

void ObjectStore::IndexDeltas(const std::vector<Delta>& deltas) {
  for (const Delta& d : deltas) {
    Index(KeyOf(d), d.old_object, d.new_object);
  }
}

std::vector<Delta> ObjectStore::Apply(WatchEvent event) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = ObjectKey(event.object);
  auto it = objects_.find(key);
  ObjectPtr cached = it == objects_.end() ? nullptr : it->second;
  std::vector<Delta> deltas = ApplyWatchEvent(objects_, std::move(event), transform_);
  if (!deltas.empty()) {
    auto now = objects_.find(key);
    Index(key, cached, now == objects_.end() ? nullptr : now->second);
  }
  return deltas;
}

std::vector<Delta> ObjectStore::Replace(std::vector<nlohmann::json> items) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Delta> deltas = ReplaceAll(objects_, std::move(items), transform_);
  IndexDeltas(deltas);
  return deltas;
}

ObjectPtr ObjectStore::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> ObjectStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<ObjectPtr> ObjectStore::ByNamespace(const std::string& ns) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  auto it = by_namespace_.find(ns);
  if (it == by_namespace_.end()) return out;
  for (const std::string& key : it->second) out.push_back(objects_.at(key));
  return out;
}

std::vector<ObjectPtr> ObjectStore::ByOwner(const std::string& owner_uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  auto it = by_owner_.find(owner_uid);
  if (it == by_owner_.end()) return out;
  for (const std::string& key : it->second) out.push_back(objects_.at(key));
  return out;
}

std::vector<std::string> ObjectStore::Keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

size_t ObjectStore::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

}  // namespace kubecnn::kube

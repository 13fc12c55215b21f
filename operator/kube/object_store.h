// The informer's cache: objects by key with namespace and owner-uid indexes, and the pure rules
// for folding watch events and fresh lists into it as add/update/delete deltas.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operator/kube/watch_event.h"

namespace kubecnn::kube {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;
using ObjectMap = std::map<std::string, ObjectPtr>;  // key "ns/name" -> object

// What a cache keeps of each object, applied on its way in (client-go's TransformFunc): it may drop
// what its readers never look at, so that thousands of pods fit in little memory.
using Transform = std::function<void(nlohmann::json& object)>;

// The default transform: drops metadata.managedFields, the server's record of which client set which
// field. It is often the largest part of a pod that several managers wrote (the operator, the
// scheduler, the kubelet), and nothing here reads it; controller-runtime's default transform drops
// it too.
void DropManagedFields(nlohmann::json& object);

struct Delta {
  enum class Kind { kAdd, kUpdate, kDelete };
  Kind kind;
  ObjectPtr old_object;  // kUpdate, kDelete
  ObjectPtr new_object;  // kAdd, kUpdate
};

// Folds one ADDED/MODIFIED/DELETED event into `objects` and says what changed. ADDED for a known
// key is an update, MODIFIED for an unknown key an add (either can follow a re-list), DELETED of an
// unknown key changes nothing. A key whose uid changed was deleted and re-created: that is a
// delete of the old object and an add of the new one, never an update across uids. Bookmarks and
// errors are not for this function. Objects go in (and deleted ones out) through `transform`.
std::vector<Delta> ApplyWatchEvent(ObjectMap& objects, WatchEvent event,
                                   const Transform& transform = DropManagedFields);

// Replaces `objects` by a fresh list: deletes for keys gone from it (or re-created under a new
// uid), adds for new keys, updates where the resourceVersion differs. Deletes come first.
std::vector<Delta> ReplaceAll(ObjectMap& objects, std::vector<nlohmann::json> items,
                              const Transform& transform = DropManagedFields);

// Thread-safe cache for readers (controllers) while one writer (the reflector) applies changes.
class ObjectStore {
 public:
  explicit ObjectStore(Transform transform = DropManagedFields) : transform_(std::move(transform)) {}
  std::vector<Delta> Apply(WatchEvent event);  // moved in: the cache keeps the event's object
  std::vector<Delta> Replace(std::vector<nlohmann::json> items);

  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<ObjectPtr> ByNamespace(const std::string& ns) const;
  std::vector<ObjectPtr> ByOwner(const std::string& owner_uid) const;  // metadata.ownerReferences[].uid
  std::vector<std::string> Keys() const;
  size_t Size() const;

 private:
  void Index(const std::string& key, const ObjectPtr& before, const ObjectPtr& after);
  void IndexDeltas(const std::vector<Delta>& deltas);

  const Transform transform_;
  mutable std::mutex mu_;
  ObjectMap objects_;
  std::map<std::string, std::set<std::string>> by_namespace_;
  std::map<std::string, std::set<std::string>> by_owner_;
};

}  // namespace kubecnn::kube

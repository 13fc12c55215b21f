// The informer's cache: objects by key with namespace and owner-uid indexes, and the pure rules
// for folding watch events and fresh lists into it as add/update/delete deltas.
#pragma once

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
// errors are not for this function.
std::vector<Delta> ApplyWatchEvent(ObjectMap& objects, const WatchEvent& event);

// Replaces `objects` by a fresh list: deletes for keys gone from it (or re-created under a new
// uid), adds for new keys, updates where the resourceVersion differs. Deletes come first.
std::vector<Delta> ReplaceAll(ObjectMap& objects, std::vector<nlohmann::json> items);

// Thread-safe cache for readers (controllers) while one writer (the reflector) applies changes.
class ObjectStore {
 public:
  std::vector<Delta> Apply(const WatchEvent& event);
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

  mutable std::mutex mu_;
  ObjectMap objects_;
  std::map<std::string, std::set<std::string>> by_namespace_;
  std::map<std::string, std::set<std::string>> by_owner_;
};

}  // namespace kubecnn::kube

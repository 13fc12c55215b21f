// The storage semantics of the fake kube-apiserver: objects, one global resourceVersion, watch
// history with compaction, snapshot-consistent paginated lists, status kept apart from spec,
// merge patch, server-side apply, finalizers, and owner-reference cascading deletes (as the
// garbage collector would do them, synchronously), including objects created with only dead owners.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/apiserver_objects.h"

namespace kubecnn::testing {

struct StoreWatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED
  nlohmann::json object;
};

class ApiStore {
 public:
  ApiStore();

  // All of these throw ApiError with the code and Status a real server would answer with.
  nlohmann::json Create(const ApiKind& kind, const std::string& ns, nlohmann::json object);
  nlohmann::json Get(const ApiKind& kind, const std::string& ns, const std::string& name);
  // A *List object; `limit` 0 means all. Pages after the first come from the first page's snapshot.
  nlohmann::json List(const ApiKind& kind, const ObjectFilter& filter, int64_t limit,
                      const std::string& continue_token);
  // PUT: the main resource (status ignored where the kind has a status subresource) or /status
  // (only status taken). A non-empty metadata.resourceVersion must match the stored one (409).
  nlohmann::json Update(const ApiKind& kind, const std::string& ns, const std::string& name, nlohmann::json object,
                        bool status_subresource);
  // RFC 7386 merge patch of the main resource or of /status.
  nlohmann::json MergePatch(const ApiKind& kind, const std::string& ns, const std::string& name,
                            const nlohmann::json& patch, bool status_subresource);
  // Server-side apply of `config` by `manager`; creates the object when absent. Fields another
  // applier owns with a different value are a 409 unless `force`.
  nlohmann::json Apply(const ApiKind& kind, const std::string& ns, const std::string& name, nlohmann::json config,
                       const std::string& manager, bool force, bool status_subresource);
  // `propagation`: "" (Background), Background, Foreground or Orphan. `preconditions` may hold uid
  // and resourceVersion. Objects with finalizers only get a deletionTimestamp.
  nlohmann::json Delete(const ApiKind& kind, const std::string& ns, const std::string& name,
                        const std::string& propagation, const nlohmann::json& preconditions);

  // Watch start: for resource_version "" or "0" the current objects as ADDED events, else nothing;
  // *from_rv is where the stream continues. A compacted resource_version throws 410.
  std::vector<StoreWatchEvent> StartWatch(const ApiKind& kind, const ObjectFilter& filter,
                                          const std::string& resource_version, int64_t* from_rv);
  // Waits until events of `kind` after *after_rv exist, `deadline` passes or `cancelled()` holds
  // (checked under the lock, so set its condition and then call WakeWatchers()); returns
  // them as this watcher sees them (leaving the selector is a DELETED) and advances *after_rv to the
  // newest version examined. Throws 410 when history after *after_rv was compacted away.
  std::vector<StoreWatchEvent> WaitEvents(const ApiKind& kind, const ObjectFilter& filter, int64_t* after_rv,
                                          std::chrono::steady_clock::time_point deadline,
                                          const std::function<bool()>& cancelled);
  void WakeWatchers();

  int64_t CurrentResourceVersion();
  // Forgets all history: watches and continue tokens from older versions get 410.
  void Compact();
  size_t Count(const ApiKind& kind);

 private:
  struct HistoryEntry {
    int64_t rv;
    size_t kind;
    std::string key;
    std::string type;
    nlohmann::json object;  // after the change (for DELETED: the last state, at the deletion's version)
    nlohmann::json prev;    // before the change; null for ADDED
  };
  using Objects = std::map<std::string, nlohmann::json>;

  static size_t Index(const ApiKind& kind);
  static std::string Key(const ApiKind& kind, const std::string& ns, const std::string& name);
  nlohmann::json& Existing(const ApiKind& kind, const std::string& ns, const std::string& name);
  // Records a change: bumps the global version, stores `object` (null erases) and its history entry.
  nlohmann::json Commit(size_t kind, const std::string& key, const std::string& type, nlohmann::json object);
  nlohmann::json CreateLocked(const ApiKind& kind, const std::string& ns, nlohmann::json object,
                              const std::string& manager = "", const std::set<std::string>& fields = {});
  nlohmann::json ReplaceLocked(const ApiKind& kind, const std::string& key, nlohmann::json updated);
  static void CheckResourceVersion(const ApiKind& kind, const std::string& name, const nlohmann::json& old,
                                   const nlohmann::json& body);
  nlohmann::json WriteLocked(const ApiKind& kind, const std::string& ns, const std::string& name,
                             const nlohmann::json& old, nlohmann::json desired, bool status_subresource);
  nlohmann::json DeleteLocked(size_t kind, const std::string& key, const std::string& propagation);
  void DeleteDependents(const std::string& owner_uid, const std::string& owner_ns, const std::string& propagation);
  void UpdateOwnerIndex(size_t kind, const std::string& key, const nlohmann::json& before, const nlohmann::json& after);
  nlohmann::json RenderManagedFields(size_t kind, const std::string& key, const std::string& api_version) const;
  bool ToWatchEvent(const HistoryEntry& entry, const ObjectFilter& filter, StoreWatchEvent* out) const;

  std::mutex mu_;
  std::condition_variable changed_;
  int64_t rv_;
  int64_t compacted_rv_;  // history holds every change after this version
  std::vector<Objects> objects_;
  std::deque<HistoryEntry> history_;
  std::map<std::string, std::set<std::pair<size_t, std::string>>> dependents_;  // owner uid -> objects
  std::set<std::string> live_uids_;
  // kind -> key -> manager -> fields it applied
  std::vector<std::map<std::string, std::map<std::string, std::set<std::string>>>> managed_;
};

}  // namespace kubecnn::testing

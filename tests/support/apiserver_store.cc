// ApiStore: every operation runs under one mutex and records its changes in a single history,
// which serves watches (by version) and continued lists (by rolling back to the first page's version).
#include "tests/support/apiserver_store.h"

#include <algorithm>

namespace kubecnn::testing {
namespace {

constexpr int64_t kFirstResourceVersion = 1000;  // not 0/1, so clients cannot confuse it with "any"

nlohmann::json& Meta(nlohmann::json& object) {
  if (!object.contains("metadata") || !object["metadata"].is_object()) object["metadata"] = nlohmann::json::object();
  return object["metadata"];
}

std::string Str(const nlohmann::json& object, const char* field) {
  return object.is_object() && object.contains(field) && object[field].is_string() ? object[field].get<std::string>()
                                                                                   : "";
}

std::vector<std::string> OwnerUids(const nlohmann::json& object) {
  std::vector<std::string> out;
  if (!object.is_object()) return out;
  const nlohmann::json meta = object.value("metadata", nlohmann::json::object());
  for (const nlohmann::json& ref : meta.value("ownerReferences", nlohmann::json::array())) {
    if (ref.is_object() && ref.contains("uid")) out.push_back(Str(ref, "uid"));
  }
  return out;
}

void CopyField(const nlohmann::json& from, nlohmann::json& to, const char* field) {
  if (from.contains(field)) {
    to[field] = from[field];
  } else {
    to.erase(field);
  }
}

// Keeps what a client may not change through PUT/PATCH of the main resource.
void ProtectSystemFields(const ApiKind& kind, const nlohmann::json& old, nlohmann::json& updated) {
  updated["kind"] = kind.kind;
  updated["apiVersion"] = kind.ApiVersion();
  nlohmann::json& meta = Meta(updated);
  for (const char* field : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                            "managedFields", "namespace", "name", "resourceVersion"}) {
    CopyField(old["metadata"], meta, field);
  }
  if (kind.status_subresource) CopyField(old, updated, "status");
}

std::string Dotted(const std::string& pointer) {
  std::string out;
  for (char c : pointer) out += c == '/' ? '.' : c;
  return out;
}

void CheckBodyIdentity(const ApiKind& kind, const std::string& ns, const std::string& name,
                       const nlohmann::json& object) {
  if (!object.is_object()) throw BadRequest("the request body is not a JSON object");
  const std::string body_kind = Str(object, "kind");
  if (!body_kind.empty() && body_kind != kind.kind) {
    throw BadRequest("the kind in the request body (" + body_kind + ") does not match the resource on the URL (" +
                     kind.plural + ", kind " + kind.kind + ")");
  }
  const std::string api_version = Str(object, "apiVersion");
  if (!api_version.empty() && api_version != kind.ApiVersion()) {
    throw BadRequest("the API version in the data (" + api_version + ") does not match the expected API version (" +
                     kind.ApiVersion() + ")");
  }
  const nlohmann::json meta = object.value("metadata", nlohmann::json::object());
  if (!name.empty() && !Str(meta, "name").empty() && Str(meta, "name") != name) {
    throw BadRequest("the name of the object (" + Str(meta, "name") + ") does not match the name on the URL (" + name +
                     ")");
  }
  if (kind.namespaced && !Str(meta, "namespace").empty() && Str(meta, "namespace") != ns) {
    throw BadRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
}

}  // namespace

ApiStore::ApiStore()
    : rv_(kFirstResourceVersion),
      compacted_rv_(kFirstResourceVersion),
      objects_(ApiKinds().size()),
      managed_(ApiKinds().size()) {}

size_t ApiStore::Index(const ApiKind& kind) {
  const ApiKind* found = FindKind(kind.group, kind.version, kind.plural);
  return static_cast<size_t>(found - ApiKinds().data());
}

std::string ApiStore::Key(const ApiKind& kind, const std::string& ns, const std::string& name) {
  return kind.namespaced ? ns + "/" + name : name;
}

nlohmann::json& ApiStore::Existing(const ApiKind& kind, const std::string& ns, const std::string& name) {
  Objects& objects = objects_[Index(kind)];
  auto it = objects.find(Key(kind, ns, name));
  if (it == objects.end()) throw NotFound(kind, name);
  return it->second;
}

void ApiStore::UpdateOwnerIndex(size_t kind, const std::string& key, const nlohmann::json& before,
                                const nlohmann::json& after) {
  for (const std::string& uid : OwnerUids(before)) {
    auto it = dependents_.find(uid);
    if (it == dependents_.end()) continue;
    it->second.erase({kind, key});
    if (it->second.empty()) dependents_.erase(it);
  }
  for (const std::string& uid : OwnerUids(after)) dependents_[uid].insert({kind, key});
  if (before.is_object()) live_uids_.erase(Str(before["metadata"], "uid"));
  if (after.is_object()) live_uids_.insert(Str(after["metadata"], "uid"));
}

nlohmann::json ApiStore::Commit(size_t kind, const std::string& key, const std::string& type, nlohmann::json object) {
  const int64_t rv = ++rv_;
  Objects& objects = objects_[kind];
  auto it = objects.find(key);
  nlohmann::json prev = it == objects.end() ? nlohmann::json() : it->second;
  Meta(object)["resourceVersion"] = std::to_string(rv);
  if (type == "DELETED") {
    objects.erase(key);
    managed_[kind].erase(key);
    UpdateOwnerIndex(kind, key, prev, nullptr);
  } else {
    objects[key] = object;
    UpdateOwnerIndex(kind, key, prev, object);
  }
  history_.push_back({rv, kind, key, type, object, std::move(prev)});
  changed_.notify_all();
  return object;
}

nlohmann::json ApiStore::RenderManagedFields(size_t kind, const std::string& key,
                                             const std::string& api_version) const {
  nlohmann::json out = nlohmann::json::array();
  auto it = managed_[kind].find(key);
  if (it == managed_[kind].end()) return out;
  for (const auto& [manager, fields] : it->second) {
    if (fields.empty()) continue;
    out.push_back({{"manager", manager},
                   {"operation", "Apply"},
                   {"apiVersion", api_version},
                   {"time", NowRfc3339()},
                   {"fieldsType", "FieldsV1"},
                   {"fieldsV1", FieldsV1(fields)}});
  }
  return out;
}

nlohmann::json ApiStore::Create(const ApiKind& kind, const std::string& ns, nlohmann::json object) {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json created = CreateLocked(kind, ns, std::move(object));
  // The garbage collector deletes an object whose every owner is gone (created after its owner was
  // deleted, e.g. by a controller acting on a stale cache). The real one does so shortly after the
  // create; here it happens at once, after the ADDED event.
  const std::vector<std::string> owners = OwnerUids(created);
  if (!owners.empty() &&
      std::none_of(owners.begin(), owners.end(), [&](const std::string& uid) { return live_uids_.count(uid) > 0; })) {
    DeleteLocked(Index(kind), Key(kind, ns, Str(created["metadata"], "name")), "Background");
  }
  return created;
}

nlohmann::json ApiStore::CreateLocked(const ApiKind& kind, const std::string& ns, nlohmann::json object,
                                      const std::string& manager, const std::set<std::string>& fields) {
  CheckBodyIdentity(kind, ns, "", object);
  nlohmann::json& meta = Meta(object);
  if (kind.namespaced) {
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (Str(meta, "name").empty() && !Str(meta, "generateName").empty()) {
    meta["name"] = Str(meta, "generateName") + RandomSuffix(5);
  }
  Validate(kind, object);
  const size_t index = Index(kind);
  const std::string key = Key(kind, ns, Str(meta, "name"));
  if (objects_[index].count(key)) throw AlreadyExists(kind, Str(meta, "name"));
  for (const char* field : {"resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                            "generation", "selfLink"}) {
    meta.erase(field);
  }
  meta["uid"] = RandomUid();
  meta["creationTimestamp"] = NowRfc3339();
  if (kind.tracks_generation) meta["generation"] = 1;
  object["kind"] = kind.kind;
  object["apiVersion"] = kind.ApiVersion();
  if (kind.status_subresource) object.erase("status");
  if (kind.kind == "Pod") object["status"] = {{"phase", "Pending"}};
  if (kind.kind == "Namespace") object["status"] = {{"phase", "Active"}};
  if (!manager.empty()) {
    managed_[index][key][manager] = fields;
    meta["managedFields"] = RenderManagedFields(index, key, kind.ApiVersion());
  }
  return Commit(index, key, "ADDED", std::move(object));
}

nlohmann::json ApiStore::Get(const ApiKind& kind, const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return Existing(kind, ns, name);
}

nlohmann::json ApiStore::List(const ApiKind& kind, const ObjectFilter& filter, int64_t limit,
                              const std::string& continue_token) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t index = Index(kind);
  int64_t list_rv = rv_;
  std::string start;
  if (!continue_token.empty()) {
    DecodeContinue(continue_token, &list_rv, &start);
    if (list_rv < compacted_rv_) {
      throw Gone(
          "The provided continue parameter is too old to display a consistent list result. You can start a "
          "new list without the continue parameter, or use the continue token in this response to retrieve "
          "the remainder of the results. Continuing with the provided token results in an inconsistent list "
          "- objects that were created, modified, or deleted between the time the first chunk was returned "
          "and now may show up in the list.");
    }
  }
  // The state at list_rv = current objects, overlaid with each key's state before its first later change.
  Objects overlay;
  auto first = std::upper_bound(history_.begin(), history_.end(), list_rv,
                                [](int64_t rv, const HistoryEntry& e) { return rv < e.rv; });
  for (auto it = first; it != history_.end(); ++it) {
    if (it->kind == index) overlay.emplace(it->key, it->prev);
  }
  const std::string prefix = kind.namespaced && !filter.ns.empty() ? filter.ns + "/" : "";
  const Objects& current = objects_[index];
  const std::string from = std::max(start, prefix);
  auto cur = continue_token.empty() ? current.lower_bound(from) : current.upper_bound(from);
  auto ov = continue_token.empty() ? overlay.lower_bound(from) : overlay.upper_bound(from);

  nlohmann::json items = nlohmann::json::array();
  int64_t scanned = 0;
  std::string last_key;
  bool more = false;
  while (cur != current.end() || ov != overlay.end()) {
    std::string key;
    const nlohmann::json* value;
    if (ov == overlay.end() || (cur != current.end() && cur->first < ov->first)) {
      key = cur->first;
      value = &cur->second;
      ++cur;
    } else {
      key = ov->first;
      value = &ov->second;
      if (cur != current.end() && cur->first == ov->first) ++cur;
      ++ov;
    }
    if (key.compare(0, prefix.size(), prefix) != 0) break;
    if (value->is_null()) continue;  // absent at list_rv
    if (limit > 0 && scanned == limit) {
      more = true;
      break;
    }
    ++scanned;
    last_key = key;
    if (!Passes(filter, *value)) continue;
    nlohmann::json item = *value;
    if (kind.builtin) {
      item.erase("kind");
      item.erase("apiVersion");
    }
    items.push_back(std::move(item));
  }
  nlohmann::json list = {{"kind", kind.kind + "List"},
                         {"apiVersion", kind.ApiVersion()},
                         {"metadata", {{"resourceVersion", std::to_string(list_rv)}}},
                         {"items", std::move(items)}};
  if (more) list["metadata"]["continue"] = EncodeContinue(list_rv, last_key);
  return list;
}

nlohmann::json ApiStore::ReplaceLocked(const ApiKind& kind, const std::string& key, nlohmann::json updated) {
  const size_t index = Index(kind);
  const nlohmann::json& old = objects_[index].at(key);
  Validate(kind, updated);
  nlohmann::json& meta = Meta(updated);
  if (kind.tracks_generation) {
    const int64_t generation = old["metadata"].value("generation", int64_t{1});
    meta["generation"] = SpecPart(kind, updated) != SpecPart(kind, old) ? generation + 1 : generation;
  }
  meta["resourceVersion"] = old["metadata"]["resourceVersion"];
  const nlohmann::json managed = RenderManagedFields(index, key, kind.ApiVersion());
  if (managed.empty()) {
    meta.erase("managedFields");
  } else {
    meta["managedFields"] = managed;
    // A re-render differs only by timestamps when nothing changed; keep the old entries then.
    if (old["metadata"].contains("managedFields")) {
      nlohmann::json a = old["metadata"]["managedFields"], b = managed;
      for (auto& e : a) e.erase("time");
      for (auto& e : b) e.erase("time");
      if (a == b) meta["managedFields"] = old["metadata"]["managedFields"];
    }
  }
  if (updated == old) return old;  // a no-op write changes nothing, not even the version
  const bool finalized =
      meta.contains("deletionTimestamp") && (!meta.contains("finalizers") || meta["finalizers"].empty());
  if (finalized) {
    const std::string uid = Str(meta, "uid");
    const std::string ns = Str(meta, "namespace");
    nlohmann::json deleted = Commit(index, key, "DELETED", std::move(updated));
    DeleteDependents(uid, ns, "Background");
    return deleted;
  }
  return Commit(index, key, "MODIFIED", std::move(updated));
}

nlohmann::json ApiStore::Update(const ApiKind& kind, const std::string& ns, const std::string& name,
                                nlohmann::json object, bool status_subresource) {
  std::lock_guard<std::mutex> lock(mu_);
  const nlohmann::json old = Existing(kind, ns, name);
  CheckBodyIdentity(kind, ns, name, object);
  CheckResourceVersion(kind, name, old, object);
  return WriteLocked(kind, ns, name, old, std::move(object), status_subresource);
}

// Optimistic concurrency: a body that names a resourceVersion must name the current one.
void ApiStore::CheckResourceVersion(const ApiKind& kind, const std::string& name, const nlohmann::json& old,
                                    const nlohmann::json& body) {
  const std::string rv = Str(body.value("metadata", nlohmann::json::object()), "resourceVersion");
  if (!rv.empty() && rv != Str(old["metadata"], "resourceVersion")) {
    throw Conflict(kind, name,
                   "the object has been modified; please apply your changes to the latest version and try again");
  }
}

// Stores `desired` over `old`: through the status subresource only status changes, otherwise
// everything but the fields the server owns.
nlohmann::json ApiStore::WriteLocked(const ApiKind& kind, const std::string& ns, const std::string& name,
                                     const nlohmann::json& old, nlohmann::json desired, bool status_subresource) {
  nlohmann::json updated;
  if (status_subresource) {
    updated = old;
    CopyField(desired, updated, "status");
  } else {
    updated = std::move(desired);
    ProtectSystemFields(kind, old, updated);
  }
  return ReplaceLocked(kind, Key(kind, ns, name), std::move(updated));
}

nlohmann::json ApiStore::MergePatch(const ApiKind& kind, const std::string& ns, const std::string& name,
                                    const nlohmann::json& patch, bool status_subresource) {
  std::lock_guard<std::mutex> lock(mu_);
  const nlohmann::json old = Existing(kind, ns, name);
  if (!patch.is_object()) throw BadRequest("a merge patch must be a JSON object, got: " + patch.dump());
  CheckResourceVersion(kind, name, old, patch);
  nlohmann::json patched = old;
  patched.merge_patch(patch);  // RFC 7386, as the API server applies application/merge-patch+json
  return WriteLocked(kind, ns, name, old, patched, status_subresource);
}

nlohmann::json ApiStore::Apply(const ApiKind& kind, const std::string& ns, const std::string& name,
                               nlohmann::json config, const std::string& manager, bool force, bool status_subresource) {
  std::lock_guard<std::mutex> lock(mu_);
  if (manager.empty()) throw BadRequest("fieldManager is required for apply requests");
  CheckBodyIdentity(kind, ns, name, config);
  if (Str(config, "apiVersion").empty() || Str(config, "kind").empty()) {
    throw BadRequest("apply configurations must set apiVersion and kind (got apiVersion \"" +
                     Str(config, "apiVersion") + "\", kind \"" + Str(config, "kind") + "\")");
  }
  nlohmann::json applied = config;
  applied.erase("kind");
  applied.erase("apiVersion");
  const std::string precondition_rv = Str(Meta(applied), "resourceVersion");
  for (const char* field : {"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields",
                            "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "name", "selfLink"}) {
    Meta(applied).erase(field);
  }
  if (Meta(applied).empty()) applied.erase("metadata");
  if (kind.status_subresource && !status_subresource) applied.erase("status");
  if (status_subresource) applied = nlohmann::json{{"status", config.value("status", nlohmann::json::object())}};
  const std::set<std::string> fields = FieldSet(applied);

  const size_t index = Index(kind);
  const std::string key = Key(kind, ns, name);
  if (!objects_[index].count(key)) {
    if (status_subresource) throw NotFound(kind, name);
    if (!precondition_rv.empty()) throw NotFound(kind, name);
    Meta(config)["name"] = name;
    return CreateLocked(kind, ns, std::move(config), manager, fields);
  }
  const nlohmann::json old = objects_[index][key];
  if (!precondition_rv.empty() && precondition_rv != Str(old["metadata"], "resourceVersion")) {
    throw Conflict(kind, name,
                   "the object has been modified; please apply your changes to the latest version and try again");
  }
  auto& owners = managed_[index][key];
  const auto saved = owners;
  std::vector<std::pair<std::string, std::string>> conflicts;  // manager, field
  for (auto& [other, owned] : owners) {
    if (other == manager) continue;
    for (auto it = owned.begin(); it != owned.end();) {
      const nlohmann::json::json_pointer ptr(*it);
      const bool differs = fields.count(*it) && (!old.contains(ptr) || old.at(ptr) != applied.at(ptr));
      if (differs && !force) conflicts.push_back({other, *it});
      it = differs && force ? owned.erase(it) : std::next(it);
    }
  }
  if (!conflicts.empty()) {
    owners = saved;
    std::string message = "Apply failed with " + std::to_string(conflicts.size()) + " conflict" +
                          (conflicts.size() > 1 ? "s" : "") + ": ";
    nlohmann::json causes = nlohmann::json::array();
    for (size_t i = 0; i < conflicts.size(); ++i) {
      const std::string with = "conflict with \"" + conflicts[i].first + "\"";
      message += (i ? "\n" : "") + with + ": " + Dotted(conflicts[i].second);
      causes.push_back({{"reason", "FieldManagerConflict"}, {"message", with}, {"field", Dotted(conflicts[i].second)}});
    }
    throw ApiError(409, "Conflict", message, {{"name", name}, {"kind", kind.plural}, {"causes", causes}});
  }
  nlohmann::json merged = old;
  for (const std::string& field : fields) {
    const nlohmann::json::json_pointer ptr(field);
    const nlohmann::json& value = applied.at(ptr);
    // An empty map claims the field without clearing what other managers set inside it.
    if (value.is_object() && value.empty() && merged.contains(ptr) && merged.at(ptr).is_object()) continue;
    merged[ptr] = value;
  }
  for (const std::string& field : owners[manager]) {
    if (fields.count(field)) continue;
    bool shared = false;
    for (const auto& [other, owned] : owners) shared = shared || (other != manager && owned.count(field));
    const nlohmann::json::json_pointer ptr(field);
    if (!shared && merged.contains(ptr)) merged.at(ptr.parent_pointer()).erase(ptr.back());
  }
  owners[manager] = fields;
  nlohmann::json updated;
  if (status_subresource) {
    updated = old;
    CopyField(merged, updated, "status");
  } else {
    updated = std::move(merged);
    ProtectSystemFields(kind, old, updated);
  }
  try {
    return ReplaceLocked(kind, key, std::move(updated));
  } catch (...) {
    managed_[index][key] = saved;
    throw;
  }
}

nlohmann::json ApiStore::Delete(const ApiKind& kind, const std::string& ns, const std::string& name,
                                const std::string& propagation, const nlohmann::json& preconditions) {
  std::lock_guard<std::mutex> lock(mu_);
  const nlohmann::json old = Existing(kind, ns, name);
  if (!propagation.empty() && propagation != "Background" && propagation != "Foreground" && propagation != "Orphan") {
    throw BadRequest("propagationPolicy: Unsupported value: \"" + propagation +
                     "\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
  }
  const std::string uid = Str(preconditions, "uid");
  if (!uid.empty() && uid != Str(old["metadata"], "uid")) {
    throw Conflict(
        kind, name,
        "Precondition failed: UID in precondition: " + uid + ", UID in object meta: " + Str(old["metadata"], "uid"));
  }
  const std::string rv = Str(preconditions, "resourceVersion");
  if (!rv.empty() && rv != Str(old["metadata"], "resourceVersion")) {
    throw Conflict(kind, name,
                   "Precondition failed: ResourceVersion in precondition: " + rv +
                       ", ResourceVersion in object meta: " + Str(old["metadata"], "resourceVersion"));
  }
  return DeleteLocked(Index(kind), Key(kind, ns, name), propagation.empty() ? "Background" : propagation);
}

nlohmann::json ApiStore::DeleteLocked(size_t kind, const std::string& key, const std::string& propagation) {
  nlohmann::json object = objects_[kind].at(key);
  const nlohmann::json meta = object["metadata"];
  const std::string uid = Str(meta, "uid");
  const std::string ns = Str(meta, "namespace");
  if (propagation == "Orphan") DeleteDependents(uid, ns, "Orphan");
  if (propagation == "Foreground" && dependents_.count(uid)) {
    // As the garbage collector does: mark the owner, delete its dependents, then the owner.
    nlohmann::json marked = object;
    Meta(marked)["deletionTimestamp"] = NowRfc3339();
    Meta(marked)["deletionGracePeriodSeconds"] = 0;
    nlohmann::json finalizers = meta.value("finalizers", nlohmann::json::array());
    finalizers.push_back("foregroundDeletion");
    Meta(marked)["finalizers"] = finalizers;
    object = Commit(kind, key, "MODIFIED", std::move(marked));
    DeleteDependents(uid, ns, "Foreground");
    finalizers.erase(finalizers.size() - 1);
    Meta(object)["finalizers"] = finalizers;
    if (finalizers.empty()) Meta(object).erase("finalizers");
    if (!finalizers.empty()) return Commit(kind, key, "MODIFIED", std::move(object));
    return Commit(kind, key, "DELETED", std::move(object));
  }
  if (meta.contains("finalizers") && !meta["finalizers"].empty()) {
    if (meta.contains("deletionTimestamp")) return object;
    Meta(object)["deletionTimestamp"] = NowRfc3339();
    Meta(object)["deletionGracePeriodSeconds"] = 0;
    return Commit(kind, key, "MODIFIED", std::move(object));
  }
  if (ApiKinds()[kind].kind == "Namespace") {
    // Namespace deletion empties the namespace first (the namespace controller's job).
    for (size_t k = 0; k < objects_.size(); ++k) {
      if (!ApiKinds()[k].namespaced) continue;
      std::vector<std::string> keys;
      for (auto it = objects_[k].lower_bound(key + "/");
           it != objects_[k].end() && it->first.compare(0, key.size() + 1, key + "/") == 0; ++it) {
        keys.push_back(it->first);
      }
      for (const std::string& inner : keys) {
        if (objects_[k].count(inner)) DeleteLocked(k, inner, "Background");
      }
    }
  }
  nlohmann::json deleted = Commit(kind, key, "DELETED", std::move(object));
  if (propagation == "Background") DeleteDependents(uid, ns, "Background");
  return deleted;
}

void ApiStore::DeleteDependents(const std::string& owner_uid, const std::string& owner_ns,
                                const std::string& propagation) {
  auto found = dependents_.find(owner_uid);
  if (found == dependents_.end()) return;
  const std::set<std::pair<size_t, std::string>> dependents = found->second;
  for (const auto& [kind, key] : dependents) {
    auto it = objects_[kind].find(key);
    if (it == objects_[kind].end()) continue;
    // A namespaced owner only owns objects in its own namespace (the GC ignores other references).
    if (!owner_ns.empty() && Str(it->second["metadata"], "namespace") != owner_ns) continue;
    bool other_live_owner = false;
    for (const std::string& uid : OwnerUids(it->second)) {
      other_live_owner = other_live_owner || (uid != owner_uid && live_uids_.count(uid));
    }
    if (propagation == "Orphan" || other_live_owner) {
      nlohmann::json updated = it->second;
      nlohmann::json refs = nlohmann::json::array();
      for (const nlohmann::json& ref : updated["metadata"]["ownerReferences"]) {
        if (Str(ref, "uid") != owner_uid) refs.push_back(ref);
      }
      if (refs.empty()) {
        updated["metadata"].erase("ownerReferences");
      } else {
        updated["metadata"]["ownerReferences"] = refs;
      }
      Commit(kind, key, "MODIFIED", std::move(updated));
    } else {
      DeleteLocked(kind, key, propagation);
    }
  }
}

bool ApiStore::ToWatchEvent(const HistoryEntry& entry, const ObjectFilter& filter, StoreWatchEvent* out) const {
  const bool now = entry.type != "DELETED" && Passes(filter, entry.object);
  const bool before = entry.prev.is_object() && Passes(filter, entry.prev);
  if (entry.type == "DELETED") {
    if (!before) return false;
    *out = {"DELETED", entry.object};
  } else if (now && before) {
    *out = {"MODIFIED", entry.object};
  } else if (now) {
    *out = {"ADDED", entry.object};
  } else if (before) {
    // Leaving the selector reads as a deletion: the previous content at this event's version.
    nlohmann::json gone = entry.prev;
    gone["metadata"]["resourceVersion"] = std::to_string(entry.rv);
    *out = {"DELETED", std::move(gone)};
  } else {
    return false;
  }
  return true;
}

std::vector<StoreWatchEvent> ApiStore::StartWatch(const ApiKind& kind, const ObjectFilter& filter,
                                                  const std::string& resource_version, int64_t* from_rv) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StoreWatchEvent> events;
  if (resource_version.empty() || resource_version == "0") {
    for (const auto& [key, object] : objects_[Index(kind)]) {
      if (Passes(filter, object)) events.push_back({"ADDED", object});
    }
    *from_rv = rv_;
    return events;
  }
  int64_t rv = 0;
  try {
    size_t used = 0;
    rv = std::stoll(resource_version, &used);
    if (used != resource_version.size() || rv < 0) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw BadRequest("resourceVersion: Invalid value: \"" + resource_version +
                     "\": must be a resource version this server issued");
  }
  if (rv < compacted_rv_) {
    throw Gone("too old resource version: " + std::to_string(rv) + " (" + std::to_string(compacted_rv_ + 1) + ")");
  }
  *from_rv = rv;
  return events;
}

std::vector<StoreWatchEvent> ApiStore::WaitEvents(const ApiKind& kind, const ObjectFilter& filter, int64_t* after_rv,
                                                  std::chrono::steady_clock::time_point deadline,
                                                  const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  const size_t index = Index(kind);
  while (true) {
    if (*after_rv < compacted_rv_) {
      throw Gone("too old resource version: " + std::to_string(*after_rv) + " (" + std::to_string(compacted_rv_ + 1) +
                 ")");
    }
    std::vector<StoreWatchEvent> events;
    auto first = std::upper_bound(history_.begin(), history_.end(), *after_rv,
                                  [](int64_t rv, const HistoryEntry& e) { return rv < e.rv; });
    for (auto it = first; it != history_.end(); ++it) {
      StoreWatchEvent event;
      if (it->kind == index && ToWatchEvent(*it, filter, &event)) events.push_back(std::move(event));
    }
    *after_rv = std::max(*after_rv, rv_);
    if (!events.empty() || cancelled() || std::chrono::steady_clock::now() >= deadline) return events;
    changed_.wait_until(lock, deadline);
  }
}

void ApiStore::WakeWatchers() {
  std::lock_guard<std::mutex> lock(mu_);
  changed_.notify_all();
}

int64_t ApiStore::CurrentResourceVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  return rv_;
}

void ApiStore::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  compacted_rv_ = rv_;
  history_.clear();
  changed_.notify_all();
}

size_t ApiStore::Count(const ApiKind& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_[Index(kind)].size();
}

}  // namespace kubecnn::testing

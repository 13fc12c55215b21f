// Folding watch events and re-lists into the cache, and the cache's indexes.
#include "operator/kube/object_store.h"

#include <gtest/gtest.h>

namespace kubecnn::kube {
namespace {

using nlohmann::json;

json Obj(const std::string& name, const std::string& uid, int rv, const std::string& owner = "") {
  json o = {{"metadata", {{"name", name}, {"namespace", "ns"}, {"uid", uid}, {"resourceVersion", std::to_string(rv)}}}};
  if (!owner.empty()) o["metadata"]["ownerReferences"] = {{{"uid", owner}, {"kind", "TrainingJob"}, {"name", "j"}}};
  return o;
}

WatchEvent Event(WatchEventType type, json object) { return {type, std::move(object)}; }

std::vector<Delta::Kind> Kinds(const std::vector<Delta>& deltas) {
  std::vector<Delta::Kind> out;
  for (const Delta& d : deltas) out.push_back(d.kind);
  return out;
}

TEST(ApplyWatchEvent, TurnsEventsIntoDeltasAgainstWhatIsCached) {
  using K = Delta::Kind;
  ObjectMap cache;
  EXPECT_EQ(Kinds(ApplyWatchEvent(cache, Event(WatchEventType::kAdded, Obj("a", "u1", 1)))), std::vector<K>{K::kAdd});
  EXPECT_EQ(Kinds(ApplyWatchEvent(cache, Event(WatchEventType::kAdded, Obj("a", "u1", 2)))), std::vector<K>{K::kUpdate})
      << "ADDED of a cached key is an update";
  EXPECT_EQ(Kinds(ApplyWatchEvent(cache, Event(WatchEventType::kModified, Obj("b", "u2", 3)))), std::vector<K>{K::kAdd})
      << "MODIFIED of an unknown key is an add";
  EXPECT_EQ(Kinds(ApplyWatchEvent(cache, Event(WatchEventType::kModified, Obj("a", "u9", 4)))),
            (std::vector<K>{K::kDelete, K::kAdd}))
      << "a new uid under the same name is a re-creation, not an update";
  const auto deleted = ApplyWatchEvent(cache, Event(WatchEventType::kDeleted, Obj("b", "u2", 5)));
  ASSERT_EQ(Kinds(deleted), std::vector<K>{K::kDelete});
  EXPECT_EQ((*deleted[0].old_object)["metadata"]["resourceVersion"], "5") << "the server's final state";
  EXPECT_TRUE(ApplyWatchEvent(cache, Event(WatchEventType::kDeleted, Obj("zz", "u3", 6))).empty());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ((*cache["ns/a"])["metadata"]["uid"], "u9");
}

TEST(ReplaceAll, DeletesWhatVanishedAndUpdatesOnlyWhatChanged) {
  using K = Delta::Kind;
  ObjectMap cache;
  ReplaceAll(cache, {Obj("keep", "u1", 1), Obj("gone", "u2", 2), Obj("changed", "u3", 3), Obj("recreated", "u4", 4)});
  const auto deltas = ReplaceAll(
      cache, {Obj("keep", "u1", 1), Obj("changed", "u3", 7), Obj("recreated", "u5", 8), Obj("new", "u6", 9)});
  std::map<std::string, std::vector<K>> by_name;
  for (const Delta& d : deltas) {
    by_name[(d.new_object ? *d.new_object : *d.old_object)["metadata"]["name"]].push_back(d.kind);
  }
  EXPECT_EQ(by_name.count("keep"), 0u) << "same resourceVersion: nothing to tell";
  EXPECT_EQ(by_name["gone"], std::vector<K>{K::kDelete});
  EXPECT_EQ(by_name["changed"], std::vector<K>{K::kUpdate});
  EXPECT_EQ(by_name["recreated"], (std::vector<K>{K::kDelete, K::kAdd}));
  EXPECT_EQ(by_name["new"], std::vector<K>{K::kAdd});
  EXPECT_EQ(deltas.front().kind, K::kDelete) << "deletes first";
  EXPECT_EQ(cache.size(), 4u);
}

TEST(ObjectStore, KeepsNoManagedFields) {
  // The server's per-field ownership record is most of a pod several managers wrote; the cache
  // keeps the rest of the object untouched.
  json pod = Obj("w", "u1", 1);
  pod["metadata"]["managedFields"] = {{{"manager", "kubelet"}, {"fieldsV1", {{"f:status", json::object()}}}}};
  pod["status"] = {{"phase", "Running"}};
  ObjectMap cache;
  ApplyWatchEvent(cache, Event(WatchEventType::kAdded, pod));
  EXPECT_FALSE(cache["ns/w"]->at("metadata").contains("managedFields"));
  EXPECT_EQ(cache["ns/w"]->at("status")["phase"], "Running");
  EXPECT_EQ(cache["ns/w"]->at("metadata")["uid"], "u1");
  ReplaceAll(cache, {pod});
  EXPECT_FALSE(cache["ns/w"]->at("metadata").contains("managedFields"));
  const auto deleted = ApplyWatchEvent(cache, Event(WatchEventType::kDeleted, pod));
  EXPECT_FALSE(deleted.at(0).old_object->at("metadata").contains("managedFields"));
}

TEST(ObjectStore, KeepsWhatItsTransformLeavesOfEveryObject) {
  ObjectStore store([](json& o) { o.erase("spec"); });
  json pod = Obj("w", "u1", 1, "job-uid");
  pod["spec"] = {{"containers", json::array({{{"name", "trainer"}}})}};
  pod["status"] = {{"phase", "Pending"}};
  const auto added = store.Apply(Event(WatchEventType::kAdded, pod));
  EXPECT_FALSE(added.at(0).new_object->contains("spec"));
  EXPECT_EQ(store.ByOwner("job-uid").size(), 1u) << "indexes read the transformed object";
  pod["status"]["phase"] = "Running";
  pod["metadata"]["resourceVersion"] = "2";
  store.Replace({pod});
  EXPECT_FALSE(store.Get("ns/w")->contains("spec"));
  EXPECT_EQ(store.Get("ns/w")->at("status")["phase"], "Running");
  const auto deleted = store.Apply(Event(WatchEventType::kDeleted, pod));
  EXPECT_FALSE(deleted.at(0).old_object->contains("spec"));
  EXPECT_EQ(store.Size(), 0u);
}

TEST(ObjectStore, IndexesByNamespaceAndOwnerAndKeepsThemCurrent) {
  ObjectStore store;
  json other_ns = Obj("x", "u3", 3, "owner-1");
  other_ns["metadata"]["namespace"] = "other";
  store.Replace({Obj("a", "u1", 1, "owner-1"), Obj("b", "u2", 2), other_ns});
  EXPECT_EQ(store.ByNamespace("ns").size(), 2u);
  EXPECT_EQ(store.ByNamespace("other").size(), 1u);
  EXPECT_EQ(store.ByOwner("owner-1").size(), 2u);
  store.Apply(Event(WatchEventType::kModified, Obj("b", "u2", 4, "owner-1")));
  EXPECT_EQ(store.ByOwner("owner-1").size(), 3u);
  store.Apply(Event(WatchEventType::kModified, Obj("a", "u1", 5)));  // owner reference dropped
  store.Apply(Event(WatchEventType::kDeleted, other_ns));
  EXPECT_EQ(store.ByOwner("owner-1").size(), 1u);
  EXPECT_TRUE(store.ByNamespace("other").empty());
  ASSERT_NE(store.Get("ns/b"), nullptr);
  EXPECT_EQ(store.Get("ns/missing"), nullptr);
  EXPECT_EQ(store.Keys(), (std::vector<std::string>{"ns/a", "ns/b"}));
}

TEST(WatchEvent, ParsesEachTypeAndRejectsGarbage) {
  EXPECT_EQ(ParseWatchEvent(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}})").type,
            WatchEventType::kBookmark);
  const WatchEvent error = ParseWatchEvent(R"({"type":"ERROR","object":{"kind":"Status","code":410}})");
  EXPECT_EQ(error.type, WatchEventType::kError);
  EXPECT_EQ(error.object["code"], 410);
  EXPECT_EQ(
      ResourceVersionOf(ParseWatchEvent(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"9"}}})").object),
      "9");
  EXPECT_THROW(ParseWatchEvent("<html>"), std::invalid_argument);
  EXPECT_THROW(ParseWatchEvent(R"({"type":"RENAMED","object":{}})"), std::invalid_argument);
  EXPECT_THROW(ParseWatchEvent(R"({"type":"ADDED"})"), std::invalid_argument);
}

}  // namespace
}  // namespace kubecnn::kube

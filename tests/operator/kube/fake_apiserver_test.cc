// Tests of the fake kube-apiserver itself, over raw HTTP (not through operator/kube), so the
// fixture's semantics are pinned to the real server's and cannot drift toward a client bug.
#include "tests/support/fake_apiserver.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/support/raw_http.h"

namespace kubecnn::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const char* kPods = "/api/v1/namespaces/ns/pods";
const char* kJobs = "/apis/kubecnn.io/v1alpha1/namespaces/ns/trainingjobs";
const char* kConfigMaps = "/api/v1/namespaces/ns/configmaps";

json Pod(const std::string& name, json labels = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
}

json Job(const std::string& name, int workers) {
  return {{"apiVersion", "kubecnn.io/v1alpha1"},
          {"kind", "TrainingJob"},
          {"metadata", {{"name", name}}},
          {"spec", {{"workers", workers}}}};
}

json ConfigMap(const std::string& name, json owner = nullptr) {
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"k", "v"}}}};
  if (!owner.is_null()) {
    cm["metadata"]["ownerReferences"] = {{{"apiVersion", owner["apiVersion"]},
                                          {"kind", owner["kind"]},
                                          {"name", owner["metadata"]["name"]},
                                          {"uid", owner["metadata"]["uid"]}}};
  }
  return cm;
}

class FakeApiServerTest : public ::testing::Test {
 protected:
  RawResponse Post(const std::string& path, const json& body) { return RawRequest(port(), "POST", path, body.dump()); }
  json Created(const std::string& path, const json& body) {
    RawResponse r = Post(path, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json();
  }
  RawResponse Get(const std::string& target) { return RawRequest(port(), "GET", target); }
  RawResponse Put(const std::string& path, const json& body) { return RawRequest(port(), "PUT", path, body.dump()); }
  RawResponse Patch(const std::string& path, const std::string& type, const std::string& body) {
    return RawRequest(port(), "PATCH", path, body, {{"Content-Type", type}});
  }
  RawResponse Delete(const std::string& target, const json& body = nullptr) {
    return RawRequest(port(), "DELETE", target, body.is_null() ? "" : body.dump());
  }
  std::set<std::string> Names(const std::string& target) {
    RawResponse r = Get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    std::set<std::string> names;
    const json list = r.Json();
    for (const json& item : list["items"]) names.insert(item["metadata"]["name"].get<std::string>());
    return names;
  }
  int port() { return server_.port(); }

  FakeApiServer server_{FakeApiServerOptions{false, milliseconds(50), 30}};
};

void ExpectStatus(const RawResponse& r, int code, const std::string& reason) {
  EXPECT_EQ(r.status, code) << r.body;
  const json status = json::parse(r.body);
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["apiVersion"], "v1");
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["code"], code);
  EXPECT_EQ(status["reason"], reason);
  EXPECT_FALSE(status["message"].get<std::string>().empty());
}

TEST_F(FakeApiServerTest, CreateAssignsUidTimestampAndOneGlobalResourceVersion) {
  const json pod = Created(kPods, Pod("a"));
  const json job = Created(kJobs, Job("j", 2));
  EXPECT_EQ(pod["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_NE(pod["metadata"]["uid"], job["metadata"]["uid"]);
  EXPECT_FALSE(pod["metadata"]["creationTimestamp"].get<std::string>().empty());
  EXPECT_EQ(pod["metadata"]["namespace"], "ns");
  EXPECT_LT(std::stoll(pod["metadata"]["resourceVersion"].get<std::string>()),
            std::stoll(job["metadata"]["resourceVersion"].get<std::string>()));
  EXPECT_EQ(job["metadata"]["generation"], 1);
  EXPECT_FALSE(pod["metadata"].contains("generation"));  // built-in pods carry no generation here
  EXPECT_EQ(Get(std::string(kPods) + "/a").Json(), pod);
}

TEST_F(FakeApiServerTest, ErrorsAreStatusObjectsWithRealCodesAndReasons) {
  Created(kPods, Pod("a"));
  ExpectStatus(Post(kPods, Pod("a")), 409, "AlreadyExists");
  ExpectStatus(Get(std::string(kPods) + "/missing"), 404, "NotFound");
  ExpectStatus(Post(kPods, Pod("")), 422, "Invalid");
  ExpectStatus(Post(kPods, Pod("Bad_Name")), 422, "Invalid");
  json no_image = Pod("b");
  no_image["spec"]["containers"][0].erase("image");
  RawResponse r = Post(kPods, no_image);
  ExpectStatus(r, 422, "Invalid");
  EXPECT_EQ(r.Json()["details"]["causes"][0]["field"], "spec.containers[0].image");
  ExpectStatus(Get(std::string(kPods) + "?labelSelector=a%20in%20(b"), 400, "BadRequest");
  ExpectStatus(Get(std::string(kPods) + "?fieldSelector=spec.nodeName%3Dx"), 400, "BadRequest");
  ExpectStatus(Get("/apis/nope.io/v1/things"), 404, "NotFound");
  EXPECT_EQ(Post(kPods, Pod("")).Json()["message"],
            "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required");
}

TEST_F(FakeApiServerTest, GenerateNameMakesAUniqueName) {
  json pod = Pod("");
  pod["metadata"].erase("name");
  pod["metadata"]["generateName"] = "worker-";
  const std::string a = Created(kPods, pod)["metadata"]["name"];
  const std::string b = Created(kPods, pod)["metadata"]["name"];
  EXPECT_EQ(a.rfind("worker-", 0), 0u);
  EXPECT_NE(a, b);
}

TEST_F(FakeApiServerTest, UpdateWithStaleResourceVersionIsConflict) {
  json pod = Created(kPods, Pod("a"));
  json first = pod;
  first["metadata"]["labels"]["x"] = "1";
  ASSERT_EQ(Put(std::string(kPods) + "/a", first).status, 200);
  json stale = pod;
  stale["metadata"]["labels"]["x"] = "2";
  RawResponse r = Put(std::string(kPods) + "/a", stale);
  ExpectStatus(r, 409, "Conflict");
  EXPECT_NE(r.Json()["message"].get<std::string>().find("the object has been modified"), std::string::npos);
  ExpectStatus(Put(std::string(kPods) + "/missing", Pod("missing")), 404, "NotFound");
  ExpectStatus(Put(std::string(kPods) + "/a", Pod("other")), 400, "BadRequest");
}

TEST_F(FakeApiServerTest, NoOpUpdateKeepsTheResourceVersion) {
  const json pod = Created(kPods, Pod("a"));
  RawResponse r = Put(std::string(kPods) + "/a", pod);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["metadata"]["resourceVersion"], pod["metadata"]["resourceVersion"]);
}

TEST_F(FakeApiServerTest, GenerationBumpsOnSpecChangesOnly) {
  json job = Created(kJobs, Job("j", 2));
  const std::string path = std::string(kJobs) + "/j";
  job["metadata"]["labels"] = {{"a", "b"}};
  job = Put(path, job).Json();
  EXPECT_EQ(job["metadata"]["generation"], 1) << "metadata changes leave generation alone";
  job["status"] = {{"phase", "Running"}};
  job = Put(path + "/status", job).Json();
  EXPECT_EQ(job["metadata"]["generation"], 1) << "status changes leave generation alone";
  job["spec"]["workers"] = 4;
  job = Put(path, job).Json();
  EXPECT_EQ(job["metadata"]["generation"], 2);
  job = Patch(path, "application/merge-patch+json", R"({"spec":{"workers":8}})").Json();
  EXPECT_EQ(job["metadata"]["generation"], 3);
}

TEST_F(FakeApiServerTest, StatusSubresourceIsKeptApartFromSpec) {
  json job = Created(kJobs, Job("j", 2));
  const std::string path = std::string(kJobs) + "/j";
  // PUT on the main resource ignores status.
  job["status"] = {{"phase", "Running"}};
  job = Put(path, job).Json();
  EXPECT_FALSE(job.contains("status"));
  // PUT on /status takes only status.
  json s = job;
  s["status"] = {{"phase", "Running"}};
  s["spec"]["workers"] = 100;
  s["metadata"]["labels"] = {{"sneaky", "yes"}};
  job = Put(path + "/status", s).Json();
  EXPECT_EQ(job["status"]["phase"], "Running");
  EXPECT_EQ(job["spec"]["workers"], 2);
  EXPECT_FALSE(job["metadata"].contains("labels"));
  // Merge patch of the main resource cannot touch status either.
  job = Patch(path, "application/merge-patch+json", R"({"status":{"phase":"Failed"}})").Json();
  EXPECT_EQ(job["status"]["phase"], "Running");
  job = Patch(path + "/status", "application/merge-patch+json", R"({"status":{"phase":"Failed"}})").Json();
  EXPECT_EQ(job["status"]["phase"], "Failed");
  // Kinds without a status subresource have no /status path.
  Created(kConfigMaps, ConfigMap("c"));
  ExpectStatus(Put(std::string(kConfigMaps) + "/c/status", ConfigMap("c")), 404, "NotFound");
}

TEST_F(FakeApiServerTest, MergePatchFollowsRfc7386) {
  json cm = ConfigMap("c");
  cm["data"] = {{"keep", "1"}, {"drop", "2"}};
  cm["metadata"]["annotations"] = {{"list", "x"}};
  Created(kConfigMaps, cm);
  RawResponse r = Patch(std::string(kConfigMaps) + "/c", "application/merge-patch+json",
                        R"({"data":{"drop":null,"new":"3"},"binaryData":null,"metadata":{"labels":{"l":"v"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["data"], (json{{"keep", "1"}, {"new", "3"}}));
  EXPECT_EQ(r.Json()["metadata"]["labels"]["l"], "v");
  EXPECT_EQ(r.Json()["metadata"]["annotations"]["list"], "x");
  // A resourceVersion in the patch is a precondition.
  ExpectStatus(Patch(std::string(kConfigMaps) + "/c", "application/merge-patch+json",
                     R"({"metadata":{"resourceVersion":"1"},"data":{"x":"y"}})"),
               409, "Conflict");
  ExpectStatus(Patch(std::string(kConfigMaps) + "/c", "application/json-patch+json", "[]"), 415,
               "UnsupportedMediaType");
}

TEST_F(FakeApiServerTest, ServerSideApplyOwnsFieldsPerManager) {
  const std::string path = std::string(kConfigMaps) + "/c";
  const std::string yaml_a = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n  b: \"2\"\n";
  ExpectStatus(Patch(path, "application/apply-patch+yaml", yaml_a), 400, "BadRequest");  // no fieldManager
  RawResponse r = Patch(path + "?fieldManager=alice", "application/apply-patch+yaml", yaml_a);
  ASSERT_EQ(r.status, 200) << r.body;  // apply creates
  EXPECT_EQ(r.Json()["data"], (json{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(r.Json()["metadata"]["managedFields"][0]["manager"], "alice");
  EXPECT_TRUE(r.Json()["metadata"]["managedFields"][0]["fieldsV1"]["f:data"].contains("f:a"));
  // Bob setting a field alice owns to another value conflicts, naming the owner and field.
  const std::string yaml_b = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"9\"\n  c: \"3\"\n";
  r = Patch(path + "?fieldManager=bob", "application/apply-patch+yaml", yaml_b);
  ExpectStatus(r, 409, "Conflict");
  EXPECT_NE(r.Json()["message"].get<std::string>().find("conflict with \"alice\""), std::string::npos);
  r = Patch(path + "?fieldManager=bob&force=true", "application/apply-patch+yaml", yaml_b);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["data"], (json{{"a", "9"}, {"b", "2"}, {"c", "3"}}));
  // Alice applying without b removes it (she owned it alone); a is bob's now and stays.
  r = Patch(path + "?fieldManager=alice", "application/apply-patch+yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {}\n");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["data"], (json{{"a", "9"}, {"c", "3"}}));
}

TEST_F(FakeApiServerTest, LabelSelectorsFollowKubernetesSemantics) {
  Created(kPods, Pod("web-prod", {{"app", "web"}, {"env", "prod"}}));
  Created(kPods, Pod("web-qa", {{"app", "web"}, {"env", "qa"}}));
  Created(kPods, Pod("db", {{"app", "db"}}));
  Created(kPods, Pod("bare"));
  const std::vector<std::pair<std::string, std::set<std::string>>> cases = {
      {"app%3Dweb", {"web-prod", "web-qa"}},   {"app%3D%3Dweb", {"web-prod", "web-qa"}},
      {"app!%3Dweb", {"db", "bare"}},  // != matches objects without the label
      {"env%20in%20(prod,dev)", {"web-prod"}}, {"env%20notin%20(prod)", {"web-qa", "db", "bare"}},
      {"env", {"web-prod", "web-qa"}},         {"!env", {"db", "bare"}},
      {"app%3Dweb,env!%3Dqa", {"web-prod"}},   {"", {"web-prod", "web-qa", "db", "bare"}},
  };
  for (const auto& [selector, want] : cases) {
    EXPECT_EQ(Names(std::string(kPods) + "?labelSelector=" + selector), want) << selector;
  }
  EXPECT_EQ(Names(std::string(kPods) + "?fieldSelector=metadata.name%3Ddb"), (std::set<std::string>{"db"}));
  EXPECT_EQ(Names(std::string(kPods) + "?fieldSelector=metadata.name!%3Ddb,metadata.namespace%3Dns"),
            (std::set<std::string>{"web-prod", "web-qa", "bare"}));
  EXPECT_EQ(Names("/api/v1/pods?fieldSelector=metadata.namespace%3Dother").size(), 0u);
}

TEST_F(FakeApiServerTest, PaginationServesTheFirstPagesSnapshot) {
  for (int i = 0; i < 10; ++i) Created(kPods, Pod("p" + std::to_string(i)));
  RawResponse page = Get(std::string(kPods) + "?limit=4");
  ASSERT_EQ(page.status, 200);
  const json first = page.Json();
  ASSERT_EQ(first["items"].size(), 4u);
  EXPECT_FALSE(first["items"][0].contains("kind")) << "built-in list items carry no kind";
  // Churn between pages must not show up in the continued list.
  Delete(std::string(kPods) + "/p7");
  Created(kPods, Pod("p55"));
  json p5 = Get(std::string(kPods) + "/p5").Json();
  p5["metadata"]["labels"] = {{"changed", "yes"}};
  Put(std::string(kPods) + "/p5", p5);
  std::vector<std::string> names;
  for (const json& item : first["items"]) names.push_back(item["metadata"]["name"]);
  std::string token = first["metadata"]["continue"];
  while (!token.empty()) {
    const json next = Get(std::string(kPods) + "?limit=4&continue=" + token).Json();
    EXPECT_EQ(next["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"]);
    for (const json& item : next["items"]) {
      names.push_back(item["metadata"]["name"]);
      if (item["metadata"]["name"] == "p5") {
        EXPECT_FALSE(item["metadata"]["labels"].contains("changed"));
      }
    }
    token = next["metadata"].value("continue", "");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"}));
  // After compaction the token has expired: 410.
  server_.Compact();
  ExpectStatus(Get(std::string(kPods) + "?limit=4&continue=" + first["metadata"]["continue"].get<std::string>()), 410,
               "Expired");
  ExpectStatus(Get(std::string(kPods) + "?limit=4&continue=garbage"), 400, "BadRequest");
}

TEST_F(FakeApiServerTest, WatchReplaysEventsAfterAResourceVersionInOrder) {
  const json a = Created(kPods, Pod("a"));
  json b = Created(kPods, Pod("b"));
  b["metadata"]["labels"] = {{"x", "y"}};
  Put(std::string(kPods) + "/b", b);
  Delete(std::string(kPods) + "/a");
  RawStream watch(port(), std::string(kPods) +
                              "?watch=true&resourceVersion=" + a["metadata"]["resourceVersion"].get<std::string>());
  ASSERT_EQ(watch.status(), 200);
  json e = watch.NextEvent();
  EXPECT_EQ(e["type"], "ADDED");
  EXPECT_EQ(e["object"]["metadata"]["name"], "b");
  EXPECT_EQ(e["object"]["kind"], "Pod");
  e = watch.NextEvent();
  EXPECT_EQ(e["type"], "MODIFIED");
  e = watch.NextEvent();
  EXPECT_EQ(e["type"], "DELETED");
  EXPECT_EQ(e["object"]["metadata"]["name"], "a");
  EXPECT_GT(std::stoll(e["object"]["metadata"]["resourceVersion"].get<std::string>()),
            std::stoll(a["metadata"]["resourceVersion"].get<std::string>()))
      << "a deletion is reported at the deletion's version";
  Created(kPods, Pod("c"));
  e = watch.NextEvent();
  EXPECT_EQ(e["type"], "ADDED");
  EXPECT_EQ(e["object"]["metadata"]["name"], "c");
}

TEST_F(FakeApiServerTest, WatchWithoutResourceVersionStartsWithTheCurrentObjects) {
  Created(kPods, Pod("a"));
  Created(kPods, Pod("b"));
  RawStream watch(port(), std::string(kPods) + "?watch=1");
  EXPECT_EQ(watch.NextEvent()["object"]["metadata"]["name"], "a");
  EXPECT_EQ(watch.NextEvent()["object"]["metadata"]["name"], "b");
  std::string line;
  EXPECT_FALSE(watch.NextLine(&line, milliseconds(200))) << "no bookmarks unless allowed: " << line;
}

TEST_F(FakeApiServerTest, WatchFromACompactedVersionIsGone) {
  const json a = Created(kPods, Pod("a"));
  Created(kPods, Pod("b"));
  server_.Compact();
  const std::string target =
      std::string(kPods) + "?watch=true&resourceVersion=" + a["metadata"]["resourceVersion"].get<std::string>();
  {
    RawStream watch(port(), target);
    EXPECT_EQ(watch.status(), 200) << "the watch cache reports too-old versions in the stream";
    const json e = watch.NextEvent();
    EXPECT_EQ(e["type"], "ERROR");
    EXPECT_EQ(e["object"]["code"], 410);
    EXPECT_EQ(e["object"]["reason"], "Expired");
    std::string line;
    EXPECT_FALSE(watch.NextLine(&line, milliseconds(500)));
    EXPECT_TRUE(watch.ended_cleanly());
  }
  server_.SetGoneMode(GoneMode::kHttpStatus);
  ExpectStatus(RawRequest(port(), "GET", target), 410, "Expired");
}

TEST_F(FakeApiServerTest, WatchSendsBookmarksOnlyWhenAllowed) {
  const json a = Created(kPods, Pod("a"));
  RawStream watch(port(), std::string(kPods) + "?watch=true&allowWatchBookmarks=true&resourceVersion=" +
                              a["metadata"]["resourceVersion"].get<std::string>());
  Created(kConfigMaps, ConfigMap("unrelated"));  // moves the global version on
  json e = watch.NextEvent();
  EXPECT_EQ(e["type"], "BOOKMARK");
  EXPECT_EQ(e["object"]["kind"], "Pod");
  const int64_t rv = std::stoll(e["object"]["metadata"]["resourceVersion"].get<std::string>());
  EXPECT_GE(rv, std::stoll(a["metadata"]["resourceVersion"].get<std::string>()));
}

TEST_F(FakeApiServerTest, WatchSeesSelectorTransitionsAsAddAndDelete) {
  const json pod = Created(kPods, Pod("a", {{"app", "web"}}));
  RawStream watch(port(), std::string(kPods) + "?watch=true&labelSelector=app%3Dweb&resourceVersion=" +
                              pod["metadata"]["resourceVersion"].get<std::string>());
  json moved = pod;
  moved["metadata"]["labels"]["app"] = "db";
  moved = Put(std::string(kPods) + "/a", moved).Json();
  json e = watch.NextEvent();
  EXPECT_EQ(e["type"], "DELETED");
  EXPECT_EQ(e["object"]["metadata"]["labels"]["app"], "web") << "the last state that matched";
  EXPECT_EQ(e["object"]["metadata"]["resourceVersion"], moved["metadata"]["resourceVersion"]);
  moved["metadata"]["labels"]["app"] = "web";
  Put(std::string(kPods) + "/a", moved);
  EXPECT_EQ(watch.NextEvent()["type"], "ADDED");
}

TEST_F(FakeApiServerTest, WatchesEndCleanlyAtTimeoutAndAbruptlyWhenDropped) {
  {
    RawStream watch(port(), std::string(kPods) + "?watch=true&timeoutSeconds=1");
    std::string line;
    EXPECT_FALSE(watch.NextLine(&line, milliseconds(3000)));
    EXPECT_TRUE(watch.ended_cleanly());
  }
  RawStream watch(port(), std::string(kPods) + "?watch=true");
  for (int i = 0; i < 100 && server_.ActiveWatches() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  server_.DropWatches();
  std::string line;
  EXPECT_FALSE(watch.NextLine(&line, milliseconds(3000)));
  EXPECT_TRUE(watch.ended());
  EXPECT_FALSE(watch.ended_cleanly());
}

TEST_F(FakeApiServerTest, WatchUsesChunkedTransferEncoding) {
  RawResponse r = RawRequest(port(), "GET", std::string(kPods) + "?watch=true&timeoutSeconds=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
}

TEST_F(FakeApiServerTest, BackgroundDeletionCascadesToOwnedObjects) {
  const json job = Created(kJobs, Job("j", 1));
  Created(kConfigMaps, ConfigMap("owned", job));
  json pod = Pod("owned-pod");
  pod["metadata"]["ownerReferences"] = ConfigMap("x", job)["metadata"]["ownerReferences"];
  Created(kPods, pod);
  Created(kConfigMaps, ConfigMap("free"));
  RawResponse r = Delete(std::string(kJobs) + "/j?propagationPolicy=Background");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectStatus(Get(std::string(kJobs) + "/j"), 404, "NotFound");
  EXPECT_EQ(Names(kConfigMaps), (std::set<std::string>{"free"}));
  EXPECT_TRUE(Names(kPods).empty());
}

TEST_F(FakeApiServerTest, ObjectCreatedWithOnlyDeletedOwnersIsCollected) {
  const json job = Created(kJobs, Job("j", 1));
  ASSERT_EQ(Delete(std::string(kJobs) + "/j").status, 200);
  RawStream watch(port(), std::string(kConfigMaps) +
                              "?watch=true&resourceVersion=" + job["metadata"]["resourceVersion"].get<std::string>());
  Created(kConfigMaps, ConfigMap("late", job));  // the create itself succeeds, as on a real server
  EXPECT_EQ(watch.NextEvent()["type"], "ADDED");
  EXPECT_EQ(watch.NextEvent()["type"], "DELETED") << "the garbage collector removes it";
  EXPECT_TRUE(Names(kConfigMaps).empty());
  const json live = Created(kJobs, Job("k", 1));
  Created(kConfigMaps, ConfigMap("kept", live));
  EXPECT_EQ(Names(kConfigMaps), (std::set<std::string>{"kept"})) << "a live owner keeps its dependent";
}

TEST_F(FakeApiServerTest, OrphanDeletionLeavesDependentsWithoutTheOwnerReference) {
  const json job = Created(kJobs, Job("j", 1));
  Created(kConfigMaps, ConfigMap("owned", job));
  ASSERT_EQ(Delete(std::string(kJobs) + "/j", {{"propagationPolicy", "Orphan"}}).status, 200);
  const json cm = Get(std::string(kConfigMaps) + "/owned").Json();
  EXPECT_FALSE(cm["metadata"].contains("ownerReferences"));
}

TEST_F(FakeApiServerTest, ForegroundDeletionRemovesDependentsBeforeTheOwner) {
  const json job = Created(kJobs, Job("j", 1));
  Created(kConfigMaps, ConfigMap("owned", job));
  RawStream watch(port(), std::string(kJobs) +
                              "?watch=true&resourceVersion=" + job["metadata"]["resourceVersion"].get<std::string>());
  ASSERT_EQ(Delete(std::string(kJobs) + "/j?propagationPolicy=Foreground").status, 200);
  json e = watch.NextEvent();
  EXPECT_EQ(e["type"], "MODIFIED");
  EXPECT_TRUE(e["object"]["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(e["object"]["metadata"]["finalizers"][0], "foregroundDeletion");
  e = watch.NextEvent();
  EXPECT_EQ(e["type"], "DELETED");
  EXPECT_TRUE(Names(kConfigMaps).empty());
}

TEST_F(FakeApiServerTest, DependentWithAnotherLiveOwnerSurvives) {
  const json a = Created(kJobs, Job("a", 1));
  const json b = Created(kJobs, Job("b", 1));
  json cm = ConfigMap("shared", a);
  cm["metadata"]["ownerReferences"].push_back(ConfigMap("x", b)["metadata"]["ownerReferences"][0]);
  Created(kConfigMaps, cm);
  Delete(std::string(kJobs) + "/a");
  const json left = Get(std::string(kConfigMaps) + "/shared").Json();
  ASSERT_EQ(left["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(left["metadata"]["ownerReferences"][0]["uid"], b["metadata"]["uid"]);
}

TEST_F(FakeApiServerTest, FinalizersHoldDeletionUntilRemoved) {
  json cm = ConfigMap("c");
  cm["metadata"]["finalizers"] = {"kubecnn.io/cleanup"};
  Created(kConfigMaps, cm);
  RawResponse r = Delete(std::string(kConfigMaps) + "/c");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.Json()["metadata"].contains("deletionTimestamp"));
  json held = Get(std::string(kConfigMaps) + "/c").Json();
  held["metadata"]["finalizers"] = json::array();
  ASSERT_EQ(Put(std::string(kConfigMaps) + "/c", held).status, 200);
  ExpectStatus(Get(std::string(kConfigMaps) + "/c"), 404, "NotFound");
}

TEST_F(FakeApiServerTest, DeletePreconditionsAreChecked) {
  Created(kConfigMaps, ConfigMap("c"));
  ExpectStatus(Delete(std::string(kConfigMaps) + "/c", {{"preconditions", {{"uid", "not-the-uid"}}}}), 409, "Conflict");
  ExpectStatus(Delete(std::string(kConfigMaps) + "/c?propagationPolicy=Sideways"), 400, "BadRequest");
  ExpectStatus(Delete(std::string(kConfigMaps) + "/missing"), 404, "NotFound");
}

TEST_F(FakeApiServerTest, InjectedFailuresCarryRetryAfterAndAStatus) {
  server_.FailNextRequests(2, 429, 3);
  RawResponse r = Get(kPods);
  ExpectStatus(r, 429, "TooManyRequests");
  EXPECT_EQ(r.headers["retry-after"], "3");
  ExpectStatus(Get(kPods), 429, "TooManyRequests");
  EXPECT_EQ(Get(kPods).status, 200);
  server_.FailNextRequests(1, 500, -1);
  r = Get(kPods);
  ExpectStatus(r, 500, "InternalError");
  EXPECT_EQ(r.headers.count("retry-after"), 0u);
}

TEST_F(FakeApiServerTest, BearerTokensAreEnforcedWhenConfigured) {
  server_.RequireBearerTokens({"good"});
  ExpectStatus(Get(kPods), 401, "Unauthorized");
  ExpectStatus(RawRequest(port(), "GET", kPods, "", {{"Authorization", "Bearer bad"}}), 401, "Unauthorized");
  EXPECT_EQ(RawRequest(port(), "GET", kPods, "", {{"Authorization", "Bearer good"}}).status, 200);
}

TEST_F(FakeApiServerTest, ClusterScopedNamespacesDeleteTheirContents) {
  ASSERT_EQ(Post("/api/v1/namespaces", {{"metadata", {{"name", "ns"}}}}).status, 201);
  Created(kPods, Pod("a"));
  EXPECT_EQ(Get("/api/v1/namespaces/ns").Json()["status"]["phase"], "Active");
  ASSERT_EQ(Delete("/api/v1/namespaces/ns").status, 200);
  EXPECT_TRUE(Names(kPods).empty());
}

TEST_F(FakeApiServerTest, RbacRefusesWhatTheRulesDoNotGrantWithTheApiServersMessage) {
  const std::vector<PolicyRule> rules = {{{""}, {"pods"}, {"get", "list", "create"}},
                                         {{"kubecnn.io"}, {"trainingjobs"}, {"get", "create"}}};
  server_.SetRbac("op", "system:serviceaccount:kubecnn-system:kubecnn-operator", rules);
  const std::map<std::string, std::string> op = {{"Authorization", "Bearer op"}};
  EXPECT_EQ(RawRequest(port(), "GET", kPods, "", op).status, 200);
  RawResponse r = RawRequest(port(), "GET", std::string(kPods) + "?watch=1", "", op);
  ExpectStatus(r, 403, "Forbidden");
  EXPECT_EQ(r.Json()["message"],
            "pods is forbidden: User \"system:serviceaccount:kubecnn-system:kubecnn-operator\" cannot watch resource "
            "\"pods\" in API group \"\" in the namespace \"ns\"");
  ExpectStatus(RawRequest(port(), "DELETE", std::string(kPods) + "/a", "", op), 403, "Forbidden");
  EXPECT_EQ(Get(std::string(kPods) + "?watch=1&timeoutSeconds=0").status, 200)
      << "requests without the token are not restricted";

  // OwnerReferencesPermissionEnforcement: blockOwnerDeletion needs update on the owner's finalizers.
  const json owner = Created(kJobs, Job("j", 1));
  json pod = Pod("p");
  pod["metadata"]["ownerReferences"] = {{{"apiVersion", "kubecnn.io/v1alpha1"},
                                         {"kind", "TrainingJob"},
                                         {"name", "j"},
                                         {"uid", owner["metadata"]["uid"]},
                                         {"controller", true},
                                         {"blockOwnerDeletion", true}}};
  r = RawRequest(port(), "POST", kPods, pod.dump(), op);
  ExpectStatus(r, 403, "Forbidden");
  EXPECT_NE(r.Json()["message"].get<std::string>().find(
                "pods \"p\" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource you "
                "can't set finalizers on: trainingjobs/finalizers is forbidden"),
            std::string::npos)
      << r.body;
  server_.SetRbac("op", "system:serviceaccount:kubecnn-system:kubecnn-operator",
                  {rules[0], rules[1], {{"kubecnn.io"}, {"trainingjobs/finalizers"}, {"update"}}});
  EXPECT_EQ(RawRequest(port(), "POST", kPods, pod.dump(), op).status, 201);
  pod["metadata"]["name"] = "q";
  pod["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = false;
  server_.SetRbac("op", "u", rules);
  EXPECT_EQ(RawRequest(port(), "POST", kPods, pod.dump(), op).status, 201) << "without blockOwnerDeletion: admitted";
}

TEST_F(FakeApiServerTest, UnservedKindIsNotFound) {
  const std::string volcano = "/apis/scheduling.volcano.sh/v1beta1/namespaces/ns/podgroups";
  EXPECT_EQ(Get(volcano).status, 200);
  server_.Unserve("scheduling.volcano.sh", "podgroups");
  ExpectStatus(Get(volcano), 404, "NotFound");
  ExpectStatus(Post(volcano, {{"metadata", {{"name", "g"}}}}), 404, "NotFound");
}

TEST_F(FakeApiServerTest, CutWritesLetExactlyNThroughAndDropTheRestUnapplied) {
  server_.CutWritesAfter(2);
  Created(kPods, Pod("a"));
  Created(kPods, Pod("b"));
  EXPECT_THROW(Post(kPods, Pod("c")), std::runtime_error) << "no answer: the connection is dropped";
  EXPECT_THROW(Delete(std::string(kPods) + "/a"), std::runtime_error);
  EXPECT_EQ(server_.DroppedWrites(), 2);
  EXPECT_EQ(Names(kPods), (std::set<std::string>{"a", "b"})) << "reads still work; dropped writes took no effect";
  server_.ResumeWrites();
  EXPECT_EQ(Post(kPods, Pod("c")).status, 201);
}

}  // namespace
}  // namespace kubecnn::testing

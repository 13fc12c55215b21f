// The informer against the fake API server: sync, live changes, resuming dropped watches, re-listing
// after 410 Gone, resync, and a churn run with dropped watches and compacted history after which
// the cache equals the server and every handler saw a consistent history.
#include "operator/kube/informer.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "operator/kube/api_error.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_apiserver.h"

namespace kubecnn::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::FakeApiServer;
using testing::FakeApiServerOptions;

const testing::ApiKind& ConfigMaps() { return *testing::FindKind("", "v1", "configmaps"); }

RestConfig ConfigFor(const FakeApiServer& server) {
  RestConfig rc;
  rc.server = server.url();
  rc.qps = 0;
  rc.source = "test";
  return rc;
}

InformerOptions FastOptions(const std::string& ns) {
  InformerOptions o;
  o.reflector.ns = ns;
  o.reflector.page_size = 50;
  o.reflector.min_watch_timeout = std::chrono::seconds(1);
  o.reflector.backoff = {milliseconds(10), milliseconds(200), 2.0, 0.5};
  return o;
}

json ConfigMap(const std::string& name, const std::string& value = "v") {
  return {{"metadata", {{"name", name}}}, {"data", {{"k", value}}}};
}

int64_t Rv(const json& o) { return std::stoll(o["metadata"]["resourceVersion"].get<std::string>()); }
std::string Uid(const json& o) { return o["metadata"]["uid"]; }
std::string Key(const json& o) {
  return o["metadata"]["namespace"].get<std::string>() + "/" + o["metadata"]["name"].get<std::string>();
}

// Records what handlers saw and checks each call against the handler's own view as it goes.
class Recorder {
 public:
  ResourceEventHandlers Handlers() {
    return {[this](const json& o) { Add(o); }, [this](const json& a, const json& b) { Update(a, b); },
            [this](const json& o) { Delete(o); }};
  }
  std::map<std::string, std::pair<std::string, int64_t>> View() {
    std::lock_guard<std::mutex> lock(mu_);
    return view_;
  }
  std::vector<std::string> Violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }
  int adds() { return Count(adds_); }
  int updates() { return Count(updates_); }
  int resyncs() { return Count(resyncs_); }
  int deletes() { return Count(deletes_); }
  std::vector<std::string> deleted_names() {
    std::lock_guard<std::mutex> lock(mu_);
    return deleted_names_;
  }

 private:
  int Count(const int& n) {
    std::lock_guard<std::mutex> lock(mu_);
    return n;
  }
  void Violation(const std::string& what) {
    if (violations_.size() < 20) violations_.push_back(what);
  }
  void Add(const json& o) {
    std::lock_guard<std::mutex> lock(mu_);
    ++adds_;
    if (view_.count(Key(o))) Violation("add of " + Key(o) + " which the handler already has");
    if (deleted_uids_.count(Uid(o))) Violation("resurrection of deleted uid " + Uid(o) + " (" + Key(o) + ")");
    view_[Key(o)] = {Uid(o), Rv(o)};
  }
  void Update(const json& old_object, const json& o) {
    std::lock_guard<std::mutex> lock(mu_);
    if (old_object == o) {
      ++resyncs_;
      return;
    }
    ++updates_;
    auto it = view_.find(Key(o));
    if (Uid(old_object) != Uid(o)) Violation("update across uids for " + Key(o));
    if (it == view_.end() || it->second.first != Uid(o)) {
      Violation("update of " + Key(o) + " the handler does not have");
    } else if (Rv(o) <= it->second.second) {
      Violation("stale update of " + Key(o) + ": rv " + std::to_string(Rv(o)) + " after " +
                std::to_string(it->second.second));
    }
    if (deleted_uids_.count(Uid(o))) Violation("update of deleted uid " + Uid(o));
    view_[Key(o)] = {Uid(o), Rv(o)};
  }
  void Delete(const json& o) {
    std::lock_guard<std::mutex> lock(mu_);
    ++deletes_;
    auto it = view_.find(Key(o));
    if (it == view_.end() || it->second.first != Uid(o))
      Violation("delete of " + Key(o) + " the handler does not have");
    deleted_uids_.insert(Uid(o));
    deleted_names_.push_back(o["metadata"]["name"]);
    view_.erase(Key(o));
  }

  std::mutex mu_;
  std::map<std::string, std::pair<std::string, int64_t>> view_;
  std::set<std::string> deleted_uids_;
  std::vector<std::string> deleted_names_;
  std::vector<std::string> violations_;
  int adds_ = 0, updates_ = 0, resyncs_ = 0, deletes_ = 0;
};

std::map<std::string, std::pair<std::string, int64_t>> ServerView(FakeApiServer& server, const std::string& ns) {
  const json list = server.store().List(ConfigMaps(), testing::MakeFilter(ns, "", ""), 0, "");
  std::map<std::string, std::pair<std::string, int64_t>> out;
  for (const json& item : list["items"]) out[Key(item)] = {Uid(item), Rv(item)};
  return out;
}

bool Eventually(const std::function<bool()>& done, milliseconds timeout = milliseconds(10000)) {
  return testing::Eventually(done, timeout, milliseconds(10));
}

TEST(Informer, SyncsExistingObjectsThenFollowsLiveChanges) {
  FakeApiServer server;
  for (int i = 0; i < 120; ++i) server.store().Create(ConfigMaps(), "ns", ConfigMap("cm-" + std::to_string(i)));
  server.store().Create(ConfigMaps(), "elsewhere", ConfigMap("not-mine"));
  Client client(ConfigFor(server));
  Informer informer(client, resources::kConfigMaps, FastOptions("ns"));
  Recorder recorder;
  informer.AddHandlers(recorder.Handlers());
  EXPECT_FALSE(informer.HasSynced());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  EXPECT_EQ(informer.store().Size(), 120u);
  EXPECT_EQ(recorder.adds(), 120);
  client.Create(resources::kConfigMaps, "ns", ConfigMap("live"));
  json changed = client.Get(resources::kConfigMaps, "ns", "cm-3");
  changed["data"]["k"] = "new";
  client.Update(resources::kConfigMaps, changed);
  client.Delete(resources::kConfigMaps, "ns", "cm-4");
  EXPECT_TRUE(Eventually([&] { return recorder.View() == ServerView(server, "ns"); }));
  EXPECT_EQ(recorder.updates(), 1);
  EXPECT_EQ(recorder.deleted_names(), std::vector<std::string>{"cm-4"});
  EXPECT_EQ((*informer.store().Get("ns/cm-3"))["data"]["k"], "new");
  EXPECT_TRUE(recorder.Violations().empty()) << recorder.Violations().front();
}

TEST(Informer, ResumesADroppedWatchFromTheLastVersionWithoutListing) {
  FakeApiServer server(FakeApiServerOptions{false, milliseconds(100), 60});
  Client client(ConfigFor(server));
  Informer informer(client, resources::kConfigMaps, FastOptions("ns"));
  Recorder recorder;
  informer.AddHandlers(recorder.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  ASSERT_TRUE(Eventually([&] { return server.ActiveWatches() == 1; }));
  server.DropWatches();
  server.store().Create(ConfigMaps(), "ns", ConfigMap("while-away"));
  EXPECT_TRUE(Eventually([&] { return informer.store().Size() == 1; }));
  EXPECT_EQ(informer.reflector().relists(), 1) << "a resumable watch must not re-list";
  EXPECT_GE(informer.reflector().watch_restarts(), 1);
  bool resumed = false;
  for (const auto& r : server.Requests()) {
    if (r.query.count("watch") && r.query.count("resourceVersion") && !r.query.at("resourceVersion").empty()) {
      resumed = true;
      EXPECT_EQ(r.query.at("allowWatchBookmarks"), "true");
      const int timeout = std::stoi(r.query.at("timeoutSeconds"));
      EXPECT_TRUE(timeout >= 1 && timeout < 2) << timeout;
    }
  }
  EXPECT_TRUE(resumed);
}

class InformerGone : public ::testing::TestWithParam<testing::GoneMode> {};

TEST_P(InformerGone, RelistsAfterGoneAndDeliversTheDeletesItMissed) {
  FakeApiServer server;
  server.SetGoneMode(GetParam());
  server.store().Create(ConfigMaps(), "ns", ConfigMap("doomed"));
  server.store().Create(ConfigMaps(), "ns", ConfigMap("survivor"));
  Client client(ConfigFor(server));
  Informer informer(client, resources::kConfigMaps, FastOptions("ns"));
  Recorder recorder;
  informer.AddHandlers(recorder.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  ASSERT_TRUE(Eventually([&] { return server.ActiveWatches() == 1; }));
  // Cut the informer off, change the world, and compact the history it would resume from.
  server.FailNextRequests(1000000, 503, 0);
  server.DropWatches();
  server.store().Delete(ConfigMaps(), "ns", "doomed", "", json::object());
  server.store().Create(ConfigMaps(), "ns", ConfigMap("born"));
  server.Compact();
  server.FailNextRequests(0, 503, 0);
  EXPECT_TRUE(Eventually([&] { return recorder.View() == ServerView(server, "ns"); }));
  EXPECT_EQ(recorder.deleted_names(), std::vector<std::string>{"doomed"});
  EXPECT_EQ(informer.reflector().relists(), 2);
  EXPECT_TRUE(recorder.Violations().empty()) << recorder.Violations().front();
}

INSTANTIATE_TEST_SUITE_P(BothForms, InformerGone,
                         ::testing::Values(testing::GoneMode::kInStreamEvent, testing::GoneMode::kHttpStatus));

TEST(Informer, ResyncHandsEveryCachedObjectToOnUpdateAgain) {
  FakeApiServer server;
  server.store().Create(ConfigMaps(), "ns", ConfigMap("a"));
  server.store().Create(ConfigMaps(), "ns", ConfigMap("b"));
  Client client(ConfigFor(server));
  InformerOptions options = FastOptions("ns");
  options.resync_period = milliseconds(100);
  Informer informer(client, resources::kConfigMaps, options);
  Recorder recorder;
  informer.AddHandlers(recorder.Handlers());
  informer.Start();
  EXPECT_TRUE(Eventually([&] { return recorder.resyncs() >= 4; }));
  EXPECT_EQ(recorder.updates(), 0);
}

TEST(Informer, CacheMatchesTheServerAfterChurnWithDroppedWatchesAndCompaction) {
  FakeApiServer server(FakeApiServerOptions{false, milliseconds(100), 60});
  Client client(ConfigFor(server));
  Informer informer(client, resources::kConfigMaps, FastOptions("churn"));
  Recorder recorder;
  informer.AddHandlers(recorder.Handlers());
  for (int i = 0; i < 50; ++i) server.store().Create(ConfigMaps(), "churn", ConfigMap("cm-" + std::to_string(i)));
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));

  std::mt19937 rng(20240501);
  testing::ApiStore& store = server.store();
  int creates = 0, updates = 0, deletes = 0;
  for (int op = 1; op <= 4000; ++op) {
    const std::string name = "cm-" + std::to_string(rng() % 150);
    try {
      switch (rng() % 3) {
        case 0:
          store.Create(ConfigMaps(), "churn", ConfigMap(name));
          ++creates;
          break;
        case 1: {
          json cm = store.Get(ConfigMaps(), "churn", name);
          cm["data"]["k"] = std::to_string(op);
          store.Update(ConfigMaps(), "churn", name, cm, false);
          ++updates;
          break;
        }
        default: store.Delete(ConfigMaps(), "churn", name, "", json::object()); ++deletes;
      }
    } catch (const testing::ApiError&) {
      // exists / not found: part of the churn
    }
    // A drop counts only when there is a watch to drop: on a loaded machine the reflector may not
    // have reconnected since the last one yet, so wait for it (the assertion below counts them).
    const auto drop_watches = [&] {
      Eventually([&] { return server.ActiveWatches() > 0; }, milliseconds(5000));
      server.DropWatches();
    };
    if (op % 300 == 0) drop_watches();
    if (op % 700 == 0) server.Compact();  // watchers that lag get an in-stream 410
    if (op % 1300 == 0) {
      server.Compact();
      drop_watches();  // whoever reconnects from before now must re-list
    }
    if (op == 2000) server.SetGoneMode(testing::GoneMode::kHttpStatus);
    if (op % 25 == 0) std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_GT(creates, 500);
  EXPECT_GT(updates, 500);
  EXPECT_GT(deletes, 500);
  const bool converged =
      Eventually([&] { return recorder.View() == ServerView(server, "churn"); }, milliseconds(30000));
  EXPECT_TRUE(converged) << "handler view has " << recorder.View().size() << " objects, server "
                         << ServerView(server, "churn").size();
  // The cache itself equals the server, object for object.
  std::map<std::string, std::pair<std::string, int64_t>> cache;
  for (const ObjectPtr& o : informer.store().List()) cache[Key(*o)] = {Uid(*o), Rv(*o)};
  EXPECT_EQ(cache, ServerView(server, "churn"));
  const auto violations = recorder.Violations();
  EXPECT_TRUE(violations.empty()) << violations.size() << " violations, first: " << violations.front();
  // The faults really happened: watches were restarted and the history loss forced re-lists.
  EXPECT_GE(informer.reflector().watch_restarts(), 10);
  EXPECT_GE(informer.reflector().relists(), 3);
  EXPECT_GT(recorder.deletes(), 100);
}

}  // namespace
}  // namespace kubecnn::kube

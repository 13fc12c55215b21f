// Events: the object reference and naming, aggregation of identical events into a count, and the
// per-object spam limit.
#include "operator/kube/events.h"

#include <gtest/gtest.h>

#include "tests/support/fake_apiserver.h"

namespace kubecnn::kube {
namespace {

using nlohmann::json;

const json kJob = {{"kind", "TrainingJob"},
                   {"apiVersion", "kubecnn.io/v1alpha1"},
                   {"metadata", {{"name", "resnet"}, {"namespace", "ml"}, {"uid", "u-1"}, {"resourceVersion", "7"}}}};

TEST(Events, NewEventReferencesTheObjectAndIsNamedLikeKubectlDoes) {
  EventRecorderOptions options;
  options.host = "pod-1";
  const WallTime t = WallTime(std::chrono::seconds(1700000000));
  const json e = NewEvent(ObjectReference(kJob), "Warning", "WorkerFailed", "worker-0 exited 137", options, t);
  EXPECT_EQ(e["metadata"]["namespace"], "ml");
  EXPECT_EQ(e["metadata"]["name"], "resnet.17979cfe362a0000");
  EXPECT_EQ(e["involvedObject"]["uid"], "u-1");
  EXPECT_EQ(e["involvedObject"]["kind"], "TrainingJob");
  EXPECT_EQ(e["source"]["component"], "kubecnn-operator");
  EXPECT_EQ(e["firstTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(e["count"], 1);
  EXPECT_NE(EventAggregationKey(ObjectReference(kJob), "Warning", "A", "m"),
            EventAggregationKey(ObjectReference(kJob), "Warning", "A", "n"));
}

struct EventsFixture : ::testing::Test {
  testing::FakeApiServer server;
  Client client{[this] {
    RestConfig rc;
    rc.server = server.url();
    rc.qps = 0;
    return rc;
  }()};
  std::vector<json> Events() { return client.List(resources::kEvents, "ml").items; }
};

TEST_F(EventsFixture, IdenticalEventsBecomeOneEventWithACount) {
  EventRecorder recorder(client);
  for (int i = 0; i < 5; ++i) recorder.Record(kJob, "Warning", "WorkerFailed", "worker-0 exited 137");
  recorder.Record(kJob, "Normal", "Restarted", "gang restarted from step 100");
  const auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  for (const json& e : events) {
    EXPECT_EQ(e["count"], e["reason"] == "WorkerFailed" ? 5 : 1) << e.dump();
  }
}

TEST_F(EventsFixture, ALoopingObjectCannotFloodTheApiServer) {
  EventRecorderOptions options;
  options.burst = 3;
  options.refill_per_second = 1e-6;
  EventRecorder recorder(client, options);
  for (int i = 0; i < 20; ++i) recorder.Record(kJob, "Warning", "Retry", "attempt " + std::to_string(i));
  EXPECT_EQ(Events().size(), 3u);
  json other = kJob;
  other["metadata"]["uid"] = "u-2";
  other["metadata"]["name"] = "other";
  recorder.Record(other, "Normal", "Created", "ok");
  EXPECT_EQ(Events().size(), 4u) << "the limit is per object";
}

TEST_F(EventsFixture, FailuresToRecordAreSwallowed) {
  EventRecorder recorder(client);
  server.FailNextRequests(1, 500, -1);
  EXPECT_NO_THROW(recorder.Record(kJob, "Normal", "Created", "x"));
  EXPECT_TRUE(Events().empty());
}

}  // namespace
}  // namespace kubecnn::kube

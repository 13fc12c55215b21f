// The probe endpoint and the Prometheus names the operator exports.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <atomic>

#include "operator/kube/client.h"
#include "operator/kube/health_server.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/http_get.h"

namespace kubecnn::kube {
namespace {

TEST(HealthServer, ReadyzFollowsTheReadinessCheck) {
  std::atomic<bool> ready{false};
  HealthServer server(
      0,
      [] {
        return std::pair<bool, std::string>{true, ""};
      },
      [&] {
        return std::pair<bool, std::string>{ready.load(), "informers not synced: trainingjobs"};
      });
  EXPECT_EQ(testing::HttpGet(server.port(), "/healthz").status, 200);
  const testing::HttpResponse not_ready = testing::HttpGet(server.port(), "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("informers not synced"), std::string::npos);
  ready = true;
  EXPECT_EQ(testing::HttpGet(server.port(), "/readyz").status, 200);
  EXPECT_EQ(testing::HttpGet(server.port(), "/nope").status, 404);
}

TEST(Readiness, NeedsSyncedCachesAndARecentAnswerFromTheApiServer) {
  using std::chrono::seconds;
  EXPECT_EQ(Readiness(true, seconds(5), seconds(120)), (std::pair<bool, std::string>{true, "ok"}));
  EXPECT_EQ(Readiness(false, seconds(5), seconds(120)).second, "informer caches not synced yet");
  EXPECT_EQ(Readiness(true, std::nullopt, seconds(120)).second, "no answer from the API server yet");
  EXPECT_EQ(Readiness(true, seconds(121), seconds(120)),
            (std::pair<bool, std::string>{false, "no answer from the API server for 121 s (more than 120 s)"}));
  EXPECT_TRUE(Readiness(true, seconds(120), seconds(120)).first) << "the window is inclusive";
}

TEST(Client, LastContactIsTheLastAnswerOfAnyStatus) {
  testing::FakeApiServer server;
  RestConfig rc;
  rc.server = server.url();
  rc.qps = 0;
  Client client(rc);
  EXPECT_FALSE(client.LastContact()) << "nothing asked yet";
  const auto before = client.clock().Now();
  EXPECT_THROW(client.Get(resources::kPods, "ns", "missing"), std::exception);
  ASSERT_TRUE(client.LastContact()) << "a 404 is an answer";
  EXPECT_GE(*client.LastContact(), before);
}

TEST(Metrics, CountRequestsByVerbAndCodeUnderTheOperatorsNames) {
  testing::FakeApiServer server;
  RestConfig rc;
  rc.server = server.url();
  rc.qps = 0;
  auto metrics = std::make_shared<Metrics>();
  Client client(rc, metrics);
  client.List(resources::kPods, "ns");
  try {
    client.Get(resources::kPods, "ns", "missing");
  } catch (const std::exception&) {
  }
  metrics->CountWatchRestart("pods", "gone");
  metrics->SetQueueDepth("trainingjobs", 3);
  metrics->ObserveWork("trainingjobs", 0.2);
  const std::string text = prometheus::TextSerializer().Serialize(metrics->registry()->Collect());
  for (const char* want : {"kubecnn_operator_api_requests_total{code=\"200\",verb=\"list\"} 1",
                           "kubecnn_operator_api_requests_total{code=\"404\",verb=\"get\"} 1",
                           "kubecnn_operator_watch_restarts_total{reason=\"gone\",resource=\"pods\"} 1",
                           "kubecnn_operator_workqueue_depth{queue=\"trainingjobs\"} 3",
                           "kubecnn_operator_workqueue_work_duration_seconds_count{queue=\"trainingjobs\"} 1",
                           "kubecnn_operator_leader 0"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

}  // namespace
}  // namespace kubecnn::kube

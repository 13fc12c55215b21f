// The operator's /healthz and /readyz under clients that misbehave: slow, silent, flooding, and
// over IPv6. Each test bounds its own wait, so a server that lets a client hold it fails instead of
// hanging the suite.
#include "operator/kube/health_server.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/support/rude_clients.h"

namespace kubecnn::kube {
namespace {

using namespace std::chrono_literals;
using kubecnn::testing::HttpGetWithin;

HealthServer::Check Always(bool ok, std::string detail = "") {
  return [=] { return std::pair<bool, std::string>{ok, detail}; };
}

TEST(HealthServer, ProbeIsAnsweredWhileAClientTricklesItsRequest) {
  HealthServer server(0, Always(true), Always(true));
  // One byte every 1.9 s: under any per-read timeout of 2 s, never under a deadline on the request.
  kubecnn::testing::SlowClient slow("127.0.0.1", server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: aaaa",
                                    1900ms);
  slow.WaitUntilStarted();
  const auto probe = HttpGetWithin("127.0.0.1", server.port(), "/healthz", 1500ms);
  EXPECT_EQ(probe.status, 200) << probe.body;
}

TEST(HealthServer, TricklingClientIsCutAtTheRequestDeadline) {
  HealthServer server(0, Always(true), Always(true));
  kubecnn::testing::SlowClient slow("127.0.0.1", server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: aaaa",
                                    1900ms);
  // The health endpoint's whole-request deadline is 5 s; allow 3 s of slack.
  const auto until = std::chrono::steady_clock::now() + 8s;
  while (!slow.closed_by_server() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(slow.closed_by_server()) << "a client sending one byte every 1.9 s still held its connection after 8 s";
}

TEST(HealthServer, SilentClientsDoNotDelayProbes) {
  HealthServer server(0, Always(true), Always(false, "informer caches not synced yet"));
  std::vector<std::unique_ptr<kubecnn::testing::RawConnection>> silent;
  for (int i = 0; i < 10; ++i)
    silent.push_back(std::make_unique<kubecnn::testing::RawConnection>("127.0.0.1", server.port()));
  const auto live = HttpGetWithin("127.0.0.1", server.port(), "/healthz", 1500ms);
  EXPECT_EQ(live.status, 200) << live.body;
  const auto ready = HttpGetWithin("127.0.0.1", server.port(), "/readyz", 1500ms);
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.body, "informer caches not synced yet\n");
}

TEST(HealthServer, FloodFromOneAddressLeavesRoomForTheKubelet) {
  HealthServer server(0, Always(true), Always(true));
  // 300 connections from 127.0.0.2 that never send a byte; the kubelet probes from 127.0.0.1.
  kubecnn::testing::ConnectionFlood flood("127.0.0.2", server.port(), 300);
  const auto probe = HttpGetWithin("127.0.0.1", server.port(), "/healthz", 2000ms);
  EXPECT_EQ(probe.status, 200) << probe.body;
  // The server holds no more than its cap of connections, however many arrive.
  EXPECT_LE(kubecnn::testing::AcceptedConnectionsOnPort(server.port()), 64);
}

TEST(HealthServer, AnswersOverIpv6AndIpv4) {
  HealthServer server(0, Always(true), Always(true));
  const auto v6 = HttpGetWithin("::1", server.port(), "/healthz", 2000ms);
  EXPECT_EQ(v6.status, 200) << v6.body;
  const auto v4 = HttpGetWithin("127.0.0.1", server.port(), "/livez", 2000ms);
  EXPECT_EQ(v4.status, 200) << v4.body;
  EXPECT_EQ(HttpGetWithin("127.0.0.1", server.port(), "/nope", 2000ms).status, 404);
}

}  // namespace
}  // namespace kubecnn::kube

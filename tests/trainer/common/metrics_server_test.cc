// The trainer's /metrics under clients that misbehave: one that never reads a large answer must
// neither hold the endpoint past its deadline nor hang the trainer's exit; slow and silent ones
// must not delay a scrape; IPv6 scrapers are answered. Each wait is bounded.
#include "trainer/common/metrics_server.h"

#include <gtest/gtest.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <future>
#include <memory>
#include <vector>

#include "tests/support/rude_clients.h"

namespace kubecnn::http {
namespace {

using namespace std::chrono_literals;
using kubecnn::testing::HttpGetWithin;

// ~6 MB of exposition: far more than a socket's buffers hold, so a client that does not read
// stalls the server's sends.
class HugeCollectable : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family;
    family.name = "kubecnn_test_padding";
    family.help = "padding for a large scrape";
    family.type = prometheus::MetricType::Gauge;
    for (int i = 0; i < 60000; ++i) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"series", "a-long-label-value-to-make-the-scrape-large-" + std::to_string(i)});
      metric.gauge.value = i;
      family.metric.push_back(std::move(metric));
    }
    return {family};
  }
};

TEST(MetricsServer, ClientThatNeverReadsCannotHangShutdown) {
  auto server = std::make_unique<MetricsServer>("127.0.0.1:0");
  server->Register(std::make_shared<HugeCollectable>());
  kubecnn::testing::RawConnection stalled("127.0.0.1", server->port(), "", 4096);
  ASSERT_TRUE(stalled.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(500ms);  // the server is now blocked on (or queued) a send nobody reads
  auto destroyed = std::async(std::launch::async, [&server] { server.reset(); });
  const bool in_time = destroyed.wait_for(3s) == std::future_status::ready;
  stalled.Close();  // lets a server stuck in send() go, so the test itself ends
  destroyed.wait();
  EXPECT_TRUE(in_time) << "the trainer's exit waited on a client that never reads";
}

TEST(MetricsServer, ClientThatNeverReadsIsCutAtTheDeadline) {
  MetricsServer server("127.0.0.1:0");
  server.Register(std::make_shared<HugeCollectable>());
  kubecnn::testing::RawConnection stalled("127.0.0.1", server.port(), "", 4096);
  ASSERT_TRUE(stalled.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  // First the server takes the connection and starts answering...
  const auto accepted_by = std::chrono::steady_clock::now() + 2s;
  while (kubecnn::testing::AcceptedConnectionsOnPort(server.port()) == 0 &&
         std::chrono::steady_clock::now() < accepted_by) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(kubecnn::testing::AcceptedConnectionsOnPort(server.port()), 1);
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(kubecnn::testing::AcceptedConnectionsOnPort(server.port()), 1) << "the answer fit in the socket buffers";
  // ...then lets it go at the deadline (10 s for metrics; 3 s of slack).
  const auto until = std::chrono::steady_clock::now() + 13s;
  int held = 1;
  while (std::chrono::steady_clock::now() < until &&
         (held = kubecnn::testing::AcceptedConnectionsOnPort(server.port())) > 0) {
    std::this_thread::sleep_for(100ms);
  }
  const auto scrape = HttpGetWithin("127.0.0.1", server.port(), "/metrics", 3000ms);
  stalled.Close();
  EXPECT_EQ(held, 0) << "the server still held a connection whose client never read, 13 s later";
  EXPECT_EQ(scrape.status, 200) << scrape.body;
}

TEST(MetricsServer, SlowAndSilentClientsDoNotDelayAScrape) {
  MetricsServer server(":0");
  kubecnn::testing::SlowClient slow("127.0.0.1", server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: aaaa",
                                    1900ms);
  slow.WaitUntilStarted();
  std::vector<std::unique_ptr<kubecnn::testing::RawConnection>> silent;
  for (int i = 0; i < 5; ++i)
    silent.push_back(std::make_unique<kubecnn::testing::RawConnection>("127.0.0.1", server.port()));
  const auto scrape = HttpGetWithin("127.0.0.1", server.port(), "/metrics", 1500ms);
  EXPECT_EQ(scrape.status, 200) << scrape.body;
}

TEST(MetricsServer, ListensOnIpv6AndIpv4ByDefault) {
  MetricsServer server(":0");
  const auto v6 = HttpGetWithin("::1", server.port(), "/metrics", 2000ms);
  EXPECT_EQ(v6.status, 200) << v6.body;
  const auto v4 = HttpGetWithin("127.0.0.1", server.port(), "/metrics", 2000ms);
  EXPECT_EQ(v4.status, 200) << v4.body;
}

}  // namespace
}  // namespace kubecnn::http

// Progress and evaluation results: Prometheus text as the trainer exposes it, the trainer's real
// metrics endpoint scraped over HTTP (IPv4 and IPv6), unreachable endpoints, and the eval JSON
// contract. Hostile endpoints are in progress_scraper_test.cc.
#include "operator/controller/progress.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "operator/controller/http_scraper.h"
#include "trainer/common/metrics_server.h"

namespace kubecnn::controller {
namespace {

// The one answer of a ScrapeAsync, awaited.
class Result {
 public:
  ProgressScraper::Done Callback() {
    return [this](std::optional<api::Progress> p) {
      std::lock_guard<std::mutex> lock(mu_);
      progress_ = std::move(p);
      done_ = true;
      cv_.notify_all();
    };
  }
  std::optional<api::Progress> Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [this] { return done_; })) << "no answer";
    return progress_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::optional<api::Progress> progress_;
};

TEST(TrainerMetrics, ParsesTheTrainerFamilies) {
  const std::string text =
      "# HELP kubecnn_train_step Optimizer steps taken\n"
      "# TYPE kubecnn_train_step gauge\n"
      "kubecnn_train_step{rank=\"0\"} 1200\n"
      "kubecnn_train_epoch{rank=\"0\"} 3\n"
      "kubecnn_train_images_per_second{rank=\"0\"} 2812.5\n"
      "kubecnn_train_loss{rank=\"0\"} 3.25 1700000000000\n"
      "kubecnn_train_learning_rate{rank=\"0\"} 0.4\r\n"
      "kubecnn_train_step_seconds_bucket{rank=\"0\",le=\"0.1\"} 7\n"
      "kubecnn_train_loss_scale{rank=\"0\"} 128\n";
  const auto p = ParseTrainerMetrics(text);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->step, 1200);
  EXPECT_EQ(*p->epoch, 3);
  EXPECT_DOUBLE_EQ(*p->images_per_second, 2812.5);
  EXPECT_DOUBLE_EQ(*p->loss, 3.25);
  EXPECT_DOUBLE_EQ(*p->learning_rate, 0.4);
  EXPECT_FALSE(ParseTrainerMetrics("# nothing\nother_metric 1\n"));
  // Throughput to a tenth: it is a column of `kubectl get trainingjobs`.
  EXPECT_DOUBLE_EQ(*ParseTrainerMetrics("kubecnn_train_images_per_second 6675.350323949537\n")->images_per_second,
                   6675.4);
  EXPECT_FALSE(ParseTrainerMetrics("kubecnn_train_loss NaN\n")) << "a NaN loss is not progress to report";
  // Counts that are no counts (found by tests/fuzz/prometheus_text_fuzzer: 1e300 overflowed int64_t).
  EXPECT_FALSE(ParseTrainerMetrics("kubecnn_train_step 1e300\nkubecnn_train_epoch -3\n"));
  EXPECT_FALSE(ParseTrainerMetrics("kubecnn_train_step 12.5\n"));
  EXPECT_EQ(*ParseTrainerMetrics("kubecnn_train_step 1e300\nkubecnn_train_step 7\n")->step, 7);
}

TEST(TrainerMetrics, ScrapesALivePrometheusEndpoint) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& step = prometheus::BuildGauge().Name("kubecnn_train_step").Help("h").Register(*registry).Add({{"rank", "0"}});
  auto& ips = prometheus::BuildGauge()
                  .Name("kubecnn_train_images_per_second")
                  .Help("h")
                  .Register(*registry)
                  .Add({{"rank", "0"}});
  step.Set(42);
  ips.Set(99.5);
  http::MetricsServer endpoint(":0");  // as the trainer serves it: every address, IPv6 and IPv4
  endpoint.Register(registry);
  prometheus::Registry operator_registry;
  auto metrics = std::make_shared<ScrapeMetrics>(operator_registry);
  HttpProgressScraper scraper(metrics);
  for (const std::string pod_ip : {"127.0.0.1", "::1"}) {
    Result result;
    scraper.ScrapeAsync(pod_ip, endpoint.port(), result.Callback());
    const auto p = result.Wait();
    ASSERT_TRUE(p) << pod_ip;
    EXPECT_EQ(*p->step, 42);
    EXPECT_DOUBLE_EQ(*p->images_per_second, 99.5);
    EXPECT_FALSE(p->loss);
  }
  for (ScrapeRefusal reason : {ScrapeRefusal::kBodyTooLarge, ScrapeRefusal::kDeadlineExceeded,
                               ScrapeRefusal::kHttpStatus, ScrapeRefusal::kConnectionFailed}) {
    EXPECT_EQ(metrics->Refused(reason), 0) << Name(reason);
  }
}

TEST(MetricsUrl, BracketsIpv6PodAddressesAndEscapesTheirZone) {
  EXPECT_EQ(MetricsUrl("10.1.2.3", 9400), "http://10.1.2.3:9400/metrics");
  EXPECT_EQ(MetricsUrl("fd00:10:244::5", 9400), "http://[fd00:10:244::5]:9400/metrics");
  EXPECT_EQ(MetricsUrl("[fd00::5]", 9400), "http://[fd00::5]:9400/metrics");
  EXPECT_EQ(MetricsUrl("fe80::1%eth0", 9400), "http://[fe80::1%25eth0]:9400/metrics");
  EXPECT_EQ(MetricsUrl("worker-0.job.ns.svc", 9401), "http://worker-0.job.ns.svc:9401/metrics");
}

TEST(TrainerMetrics, UnreachableEndpointIsNoProgressNotAnError) {
  prometheus::Registry registry;
  auto metrics = std::make_shared<ScrapeMetrics>(registry);
  HttpProgressScraper scraper(metrics, ScrapeLimits{std::chrono::milliseconds(300)});
  for (const auto& [host, port] :
       std::vector<std::pair<std::string, int>>{{"127.0.0.1", 1}, {"no-such-host.invalid", 9400}}) {
    Result result;
    scraper.ScrapeAsync(host, port, result.Callback());
    EXPECT_FALSE(result.Wait()) << host;
  }
  EXPECT_EQ(metrics->Refused(ScrapeRefusal::kConnectionFailed), 2);
}

// A rank whose metrics endpoint accepts connections but never answers (a hung process).
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 1024) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("black hole: cannot listen");
    }
    port_ = ntohs(a.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A hung rank used to hold the reconcile worker for the whole timeout (2001 ms measured).
TEST(TrainerMetrics, AHungRankDoesNotBlockTheCaller) {
  BlackHole hole;
  prometheus::Registry registry;
  auto metrics = std::make_shared<ScrapeMetrics>(registry);
  HttpProgressScraper scraper(metrics, ScrapeLimits{std::chrono::milliseconds(300)});
  Result result;
  const auto start = std::chrono::steady_clock::now();
  scraper.ScrapeAsync("127.0.0.1", hole.port(), result.Callback());
  const auto returned = std::chrono::steady_clock::now() - start;
  EXPECT_LT(returned, std::chrono::milliseconds(100)) << "the caller (a reconcile worker) was blocked";
  EXPECT_FALSE(result.Wait()) << "a timeout is no progress";
  // (libcurl starts its clock a moment after ours and rounds: 299.96 ms was seen.)
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(290)) << "it waited for the timeout";
  EXPECT_EQ(metrics->Refused(ScrapeRefusal::kDeadlineExceeded), 1);
}

TEST(EvaluationResult, ReadsTheTrainersJson) {
  const api::EvaluationResult r = ParseEvaluationResult(
      R"({"top1": 0.761200, "top5": 0.930100, "images": 50000, "top1_correct": 38060, "top5_correct": 46505, )"
      R"("step": 112590, "model": "resnet50", "checkpoint": "/checkpoints/ckpt-112590.kcnn"})");
  EXPECT_DOUBLE_EQ(*r.top1, 0.7612);
  EXPECT_DOUBLE_EQ(*r.top5, 0.9301);
  EXPECT_EQ(*r.images, 50000);
  EXPECT_EQ(*r.step, 112590);
  EXPECT_EQ(*r.checkpoint, "/checkpoints/ckpt-112590.kcnn");
  EXPECT_THROW(ParseEvaluationResult("Error: out of memory"), std::invalid_argument);
  try {
    ParseEvaluationResult(R"({"top1": 0.5})");
    FAIL() << "no top5";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"top5\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kubecnn::controller

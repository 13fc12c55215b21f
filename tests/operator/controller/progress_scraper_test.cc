// The progress scraper against endpoints a user-chosen image could run: an endless body, a body
// that trickles in under any per-read timeout, an error status. Each is cut off by the scraper's
// limits and counted in kubecnn_operator_progress_scrapes_refused_total.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "operator/controller/http_scraper.h"

namespace kubecnn::controller {
namespace {

using namespace std::chrono_literals;

// An HTTP endpoint on 127.0.0.1 whose one connection is answered by `answer(fd, stop)`.
class RawEndpoint {
 public:
  using Answer = std::function<void(int fd, const std::atomic<bool>& stop)>;
  explicit RawEndpoint(Answer answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("raw endpoint: cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char request[4096];
      (void)::recv(client, request, sizeof request, 0);
      answer_(client, stop_);
      ::close(client);
    });
  }
  ~RawEndpoint() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  Answer answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool Send(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// Scrapes once and returns (progress, seconds it took), failing the test after `patience`.
std::pair<std::optional<api::Progress>, double> ScrapeOnce(HttpProgressScraper& scraper, int port,
                                                           std::chrono::milliseconds patience) {
  auto promise = std::make_shared<std::promise<std::optional<api::Progress>>>();
  auto answer = promise->get_future();
  const auto start = std::chrono::steady_clock::now();
  scraper.ScrapeAsync("127.0.0.1", port, [promise](std::optional<api::Progress> p) { promise->set_value(p); });
  if (answer.wait_for(patience) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within " << patience.count() << " ms";
    return {std::nullopt, -1};
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {answer.get(), seconds};
}

const std::string kHead = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";

TEST(ProgressScraper, EndlessBodyIsCutAtTheSizeCapAndCounted) {
  // No Content-Length: the body ends when the connection does, which is never.
  RawEndpoint endless([](int fd, const std::atomic<bool>& stop) {
    if (!Send(fd, kHead + "kubecnn_train_step 7\n")) return;
    const std::string padding(64 * 1024, '#');
    while (!stop && Send(fd, "# " + padding + "\n")) {
    }
  });
  prometheus::Registry registry;
  auto metrics = std::make_shared<ScrapeMetrics>(registry);
  HttpProgressScraper scraper(metrics, ScrapeLimits{5000ms, 256 * 1024});
  const auto [progress, seconds] = ScrapeOnce(scraper, endless.port(), 8000ms);
  EXPECT_FALSE(progress) << "a body past the cap is no progress";
  EXPECT_LT(seconds, 4) << "the cap, not the deadline, should have ended it";
  EXPECT_EQ(metrics->Refused(ScrapeRefusal::kBodyTooLarge), 1);
}

TEST(ProgressScraper, DeclaredLengthPastTheCapIsRefusedUnread) {
  RawEndpoint big([](int fd, const std::atomic<bool>& stop) {
    Send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\nkubecnn_train_step 7\n");
    while (!stop) std::this_thread::sleep_for(10ms);  // the rest of the gigabyte is "on its way"
  });
  prometheus::Registry registry;
  auto metrics = std::make_shared<ScrapeMetrics>(registry);
  HttpProgressScraper scraper(metrics, ScrapeLimits{5000ms, 256 * 1024});
  const auto [progress, seconds] = ScrapeOnce(scraper, big.port(), 8000ms);
  EXPECT_FALSE(progress);
  EXPECT_LT(seconds, 4);
  EXPECT_EQ(metrics->Refused(ScrapeRefusal::kBodyTooLarge), 1);
}

TEST(ProgressScraper, TricklingBodyIsCutAtTheDeadlineAndCounted) {
  // 16 KiB every 100 ms: never idle long enough for a per-read timeout, and far under the cap.
  RawEndpoint trickle([](int fd, const std::atomic<bool>& stop) {
    if (!Send(fd, kHead + "kubecnn_train_step 7\n")) return;
    const std::string comment = "# " + std::string(16 * 1024 - 3, '#') + "\n";
    while (!stop && Send(fd, comment)) std::this_thread::sleep_for(100ms);
  });
  prometheus::Registry registry;
  auto metrics = std::make_shared<ScrapeMetrics>(registry);
  HttpProgressScraper scraper(metrics, ScrapeLimits{1000ms, 64 * 1024 * 1024});
  const auto [progress, seconds] = ScrapeOnce(scraper, trickle.port(), 5000ms);
  EXPECT_FALSE(progress);
  EXPECT_GE(seconds, 0.9);
  EXPECT_LT(seconds, 3);
  EXPECT_EQ(metrics->Refused(ScrapeRefusal::kDeadlineExceeded), 1);
}

TEST(ProgressScraper, ErrorStatusIsNoProgressAndCounted) {
  RawEndpoint failing([](int fd, const std::atomic<bool>&) {
    Send(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21\r\n\r\nkubecnn_train_step 7\n");
  });
  prometheus::Registry registry;
  auto metrics = std::make_shared<ScrapeMetrics>(registry);
  HttpProgressScraper scraper(metrics);
  const auto [progress, seconds] = ScrapeOnce(scraper, failing.port(), 5000ms);
  EXPECT_FALSE(progress);
  EXPECT_EQ(metrics->Refused(ScrapeRefusal::kHttpStatus), 1);
}

}  // namespace
}  // namespace kubecnn::controller

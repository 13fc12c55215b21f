// HttpProgressScraper on libcurl: one multi handle, driven by one thread, for every scrape in
// flight; each is held to its limits from connect to last byte.
#include "operator/controller/http_scraper.h"

#include <curl/curl.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace kubecnn::controller {

std::string MetricsUrl(const std::string& host, int port) {
  std::string authority = host;
  if (host.find(':') != std::string::npos && host.front() != '[') {
    const size_t zone = host.find('%');  // RFC 6874: the zone's '%' is itself escaped in a URI
    authority = "[" + (zone == std::string::npos ? host : host.substr(0, zone) + "%25" + host.substr(zone + 1)) + "]";
  }
  return "http://" + authority + ":" + std::to_string(port) + "/metrics";
}

struct HttpProgressScraper::Transfer {
  CURL* easy = nullptr;
  std::string url;
  std::string body;
  size_t max_body = 0;
  bool too_large = false;
  Done done;
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

namespace {

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<HttpProgressScraper::Transfer*>(user);
  const size_t n = size * count;
  if (transfer->body.size() + n > transfer->max_body) {
    transfer->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR) and closes its connection
  }
  transfer->body.append(data, n);
  return n;
}

// Why a finished transfer gave no progress; nullopt when it gave a body to parse.
std::optional<ScrapeRefusal> Outcome(const HttpProgressScraper::Transfer& t, CURLcode code) {
  if (t.too_large || code == CURLE_FILESIZE_EXCEEDED) return ScrapeRefusal::kBodyTooLarge;
  if (code == CURLE_OPERATION_TIMEDOUT) return ScrapeRefusal::kDeadlineExceeded;
  if (code != CURLE_OK) return ScrapeRefusal::kConnectionFailed;
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return ScrapeRefusal::kHttpStatus;
  return std::nullopt;
}

}  // namespace

HttpProgressScraper::HttpProgressScraper(std::shared_ptr<ScrapeMetrics> metrics, ScrapeLimits limits)
    : metrics_(std::move(metrics)), limits_(limits) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, limits_.max_connections);
  thread_ = std::thread([this] { Loop(); });
}

HttpProgressScraper::~HttpProgressScraper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  curl_multi_wakeup(multi_);
  thread_.join();
  curl_multi_cleanup(multi_);
}

void HttpProgressScraper::ScrapeAsync(const std::string& host, int port, Done done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->url = MetricsUrl(host, port);
  transfer->max_body = limits_.max_body_bytes;
  transfer->done = std::move(done);
  CURL* easy = transfer->easy = curl_easy_init();
  curl_easy_setopt(easy, CURLOPT_URL, transfer->url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");  // no redirects, no other schemes
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(limits_.deadline.count()));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits_.max_body_bytes));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);  // one request per connection, as the endpoint answers
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queued_.push_back(std::move(transfer));
      transfer = nullptr;
    }
  }
  if (transfer != nullptr) {  // the scraper is going away
    transfer->done(std::nullopt);
    return;
  }
  curl_multi_wakeup(multi_);
}

void HttpProgressScraper::Loop() {
  std::map<CURL*, std::unique_ptr<Transfer>> running;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      for (auto& transfer : queued_) {
        curl_multi_add_handle(multi_, transfer->easy);
        running[transfer->easy] = std::move(transfer);
      }
      queued_.clear();
    }
    int still_running = 0;
    curl_multi_perform(multi_, &still_running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      auto it = running.find(message->easy_handle);
      if (it == running.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(it->second);
      running.erase(it);
      curl_multi_remove_handle(multi_, transfer->easy);
      const std::optional<ScrapeRefusal> refused = Outcome(*transfer, message->data.result);
      if (refused) {
        metrics_->CountRefused(*refused);
        transfer->done(std::nullopt);
      } else {
        transfer->done(ParseTrainerMetrics(transfer->body));
      }
    }
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);  // woken by curl_multi_wakeup
  }
  // Stopping: every scrape still queued or running gets its one answer.
  for (auto& [easy, transfer] : running) {
    curl_multi_remove_handle(multi_, easy);
    transfer->done(std::nullopt);
  }
  std::deque<std::unique_ptr<Transfer>> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued.swap(queued_);
  }
  for (auto& transfer : queued) transfer->done(std::nullopt);
}

}  // namespace kubecnn::controller

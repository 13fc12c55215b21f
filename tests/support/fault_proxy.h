// Our own fault-injecting HTTP/1.1 TCP proxy for tests: no library misbehaves on purpose (replies
// 503 SlowDown, resets, truncates, stalls, corrupts a body byte) on the requests a test picks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kubecnn::testing {

// What a matcher sees of a request: its request line and headers (names lower-cased).
struct ProxiedRequest {
  std::string method;
  std::string target;  // "/bucket/key?uploads", as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string path() const { return target.substr(0, target.find('?')); }
  std::string query() const;                                     // after '?', "" when none
  std::string Header(const std::string& lower_case_name) const;  // "" when absent
};

using RequestMatcher = std::function<bool(const ProxiedRequest&)>;
RequestMatcher MethodIs(const std::string& method);
RequestMatcher PathStartsWith(const std::string& prefix);
RequestMatcher QueryContains(const std::string& text);

struct Fault {
  enum class Kind {
    kRespond,                  // answer `response` (a whole HTTP response) instead of forwarding, then close
    kResetAfterRequest,        // read the whole request, then RST the client connection
    kResetAfterResponseBytes,  // forward `bytes` bytes of the response (head included), then RST
    kTruncateBody,             // forward the head (Content-Length unchanged) and `bytes` body bytes, then close
    kDelayResponse,            // hold the upstream's response for `delay`, then forward it
    kCorruptBodyByte,          // flip the bits of the body byte at offset `bytes` (as sent: chunk framing counts)
  };
  Kind kind = Kind::kRespond;
  std::string response;
  size_t bytes = 0;
  std::chrono::milliseconds delay{0};

  static Fault Respond(int status, const std::string& reason, const std::string& body,
                       const std::string& content_type = "application/xml");
  static Fault SlowDown();       // 503 with S3's <Code>SlowDown</Code> error document
  static Fault InternalError();  // 500 with S3's <Code>InternalError</Code>
  static Fault ResetAfterRequest();
  static Fault ResetAfterResponseBytes(size_t bytes);
  static Fault TruncateBody(size_t body_bytes_kept);
  static Fault DelayResponse(std::chrono::milliseconds delay);
  static Fault CorruptBodyByte(size_t offset);
};

// Listens on 127.0.0.1 (port 0) and forwards each connection to target_host:target_port, one thread
// per connection (at most `max_connections` at once; more are closed on accept). Requests and
// responses are buffered whole (limit 512 MiB each), so faults can apply at exact offsets.
class FaultProxy {
 public:
  FaultProxy(std::string target_host, int target_port, int max_connections = 64);
  ~FaultProxy();  // closes every connection and joins every thread
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // `fault` hits the next `count` requests that match (every request without a matcher). Rules
  // apply in the order they were added; a request takes at most one fault.
  void FailNext(int count, Fault fault, RequestMatcher matcher = nullptr);
  // `fault` hits every matching request until Clear().
  void FailEvery(Fault fault, RequestMatcher matcher = nullptr);
  void Clear();

  int64_t requests_seen() const;
  int64_t faults_injected() const;
  int64_t connections_accepted() const;
  // Block until the counter reaches `n`; false when `limit` passes first.
  bool WaitForRequests(int64_t n, std::chrono::milliseconds limit) const;
  bool WaitForFaults(int64_t n, std::chrono::milliseconds limit) const;

 private:
  struct Rule {
    Fault fault;
    RequestMatcher matcher;
    int remaining;  // -1: forever
  };
  struct Response {
    std::string bytes;  // head and body as the upstream sent them
    size_t head_size = 0;
    bool keep_alive = false;
  };
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop();
  void Serve(int client_fd);
  // Handles one request on the connection; false when the connection is to be closed.
  bool ServeRequest(int client_fd, int& upstream_fd, std::string& from_client, std::string& from_upstream);
  std::optional<Response> ReadResponse(int upstream_fd, std::string& from_upstream, const ProxiedRequest& request);
  // Sends `response` to the client as `fault` says; false when the connection is to be closed.
  bool Answer(int client_fd, const std::optional<Fault>& fault, Response& response);
  std::optional<Fault> TakeFault(const ProxiedRequest& request);
  void Count(int64_t& counter);
  int64_t Read(const int64_t& counter) const;
  bool WaitForCount(const int64_t& counter, int64_t n, std::chrono::milliseconds limit) const;

  std::string target_host_;
  int target_port_;
  int max_connections_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: readable once the proxy is shutting down
  int port_ = 0;
  std::thread acceptor_;
  std::list<std::unique_ptr<Connection>> connections_;  // the acceptor's alone

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<Rule> rules_;
  int64_t requests_seen_ = 0;
  int64_t faults_injected_ = 0;
  int64_t connections_accepted_ = 0;
};

}  // namespace kubecnn::testing

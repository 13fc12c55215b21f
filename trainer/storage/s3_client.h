// S3 requests over libcurl: SigV4 signing by libcurl itself (CURLOPT_AWS_SIGV4), a pool of
// keep-alive connections shared by threads, timeouts, and retries with jittered back-off; and,
// for readers with many requests in flight, one transfer thread driving them all through libcurl's
// multi interface.
// Request signing, TLS and HTTP are libcurl's; this file only says what to send and what the
// answer means.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/storage/s3_config.h"
#include "trainer/storage/s3_credentials.h"
#include "trainer/storage/s3_url.h"

namespace kubecnn::storage {

struct S3Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string bucket;
  std::string key;
  QueryParams query;
  std::string_view body;                 // PUT/POST payload (must outlive the call)
  std::string content_type;              // for POST bodies
  std::optional<uint64_t> range_offset;  // GET of [range_offset, range_offset + range_length)
  uint64_t range_length = 0;
  char* sink = nullptr;  // ranged GET: the bytes land here (range_length of room) instead of `body`
  std::string purpose;   // for messages, e.g. "listing s3://b/shards/"; default "<METHOD> s3://b/key"

  static S3Request To(std::string method, std::string bucket, std::string key, QueryParams query = {}) {
    S3Request request;
    request.method = std::move(method);
    request.bucket = std::move(bucket);
    request.key = std::move(key);
    request.query = std::move(query);
    return request;
  }
};

struct S3Response {
  long status = 0;
  std::string body;  // unless the request had a sink
  uint64_t received = 0;
  std::string etag;
  std::optional<uint64_t> content_length;
};

// Process-wide counts, for metrics and tests.
struct S3Counters {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> retries{0};
  std::atomic<int64_t> failures{0};  // requests given up on (permanent or out of tries)
  std::atomic<int64_t> bytes_read{0};
  std::atomic<int64_t> bytes_written{0};
};
S3Counters& GlobalS3Counters();

struct S3Transfer;  // one try of a request on a libcurl handle (s3_client.cc)

class S3Client {
 public:
  explicit S3Client(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Sends the request, retrying faults that may pass. Returns a 2xx answer (a 404 too when
  // allow_not_found). Throws NotFoundError, StorageError (refusals, with bucket, key, the S3 code,
  // the credential source and a hint) or TransientError (out of tries), never with a secret.
  S3Response Perform(const S3Request& request, bool allow_not_found = false);

  // Sends the request from the client's transfer thread, which drives every request sent this way
  // over libcurl's multi interface: one thread for any number of connections, polling all their
  // sockets at once, instead of a thread per request woken for each. Tries again as Perform does
  // (a try waiting out its back-off holds no connection). `done` runs once, on that thread, with
  // the answer, or with nullptr and what Perform would have thrown; it must not block. The
  // request's body and sink must stay valid until then. Throws TransientError once the client is
  // being destroyed.
  using Completion = std::function<void(S3Response*, std::exception_ptr)>;
  void Submit(S3Request request, Completion done);

  const S3Config& config() const { return config_; }
  // "s3://bucket/key" for messages.
  static std::string Url(std::string_view bucket, std::string_view key);

 private:
  struct Connection;
  struct Async;
  struct AsyncRequest;
  std::unique_ptr<Connection> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  // One try, in two halves around the transfer: Begin sets the request's options on the handle,
  // End unhooks them and returns the final CURLcode (a short or overlong range is an error).
  void Begin(S3Transfer& transfer, const S3Credentials& credentials);
  int End(S3Transfer& transfer, int curl_code);
  // What try number `attempt` came to: true to return the response, false to try again after
  // *delay; throws NotFoundError, StorageError or TransientError when it is the end.
  bool Judge(const S3Request& request, const std::string& where, int attempt, int curl_code, S3Response& response,
             bool allow_not_found, std::chrono::milliseconds* delay);
  // The transfer thread: its loop, a try started, the tries libcurl has finished judged (done,
  // or back to wait out a back-off), and every request still here told of a shutdown.
  void AsyncLoop();
  void StartTry(std::unique_ptr<AsyncRequest> job);
  void FinishTries();
  void AbandonTries(std::vector<std::unique_ptr<AsyncRequest>> arrived);

  S3Config config_;
  CredentialSource credentials_;
  std::string signing_;  // "aws:amz:<region>:s3"
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::mt19937_64 random_;
  std::unique_ptr<Async> async_;  // started by the first Submit
};

}  // namespace kubecnn::storage

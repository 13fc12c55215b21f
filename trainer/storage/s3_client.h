// S3 requests over libcurl: SigV4 signing by libcurl itself (CURLOPT_AWS_SIGV4), a pool of
// keep-alive connections shared by threads, timeouts, and retries with jittered back-off.
// Request signing, TLS and HTTP are libcurl's; this file only says what to send and what the
// answer means.
#pragma once

#include <atomic>
#include <cstdint>
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

  const S3Config& config() const { return config_; }
  // "s3://bucket/key" for messages.
  static std::string Url(std::string_view bucket, std::string_view key);

 private:
  struct Connection;
  std::unique_ptr<Connection> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  // One try: fills response; returns the CURLcode.
  int Attempt(Connection& connection, const S3Request& request, const S3Credentials& credentials, S3Response* response);

  S3Config config_;
  CredentialSource credentials_;
  std::string signing_;  // "aws:amz:<region>:s3"
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::mt19937_64 random_;
};

}  // namespace kubecnn::storage

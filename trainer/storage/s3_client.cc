// S3Client: libcurl easy handles kept alive in a pool; one request = one handle for its duration.
#include "trainer/storage/s3_client.h"

#include <curl/curl.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <thread>

#include "trainer/common/log.h"
#include "trainer/storage/s3_failure.h"
#include "trainer/storage/s3_xml.h"
#include "trainer/storage/storage.h"

namespace kubecnn::storage {
namespace {

// The SHA-256 of an empty payload, which SigV4 wants for bodiless requests.
constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string HexSha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Transfer {
  CURL* curl = nullptr;
  const S3Request* request = nullptr;
  S3Response* response = nullptr;
  std::string_view upload;  // what is left to send
  bool overflow = false;    // the server sent more than the range asked for
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->request->sink && status == 206) {  // an error's body goes to `body`, not into the caller's buffer
    if (t->response->received + n > t->request->range_length) {
      t->overflow = true;
      return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    std::memcpy(t->request->sink + t->response->received, data, n);
  } else {
    if (t->response->body.size() + n > (64u << 20) && (t->request->method != "GET" || t->request->sink)) {
      t->overflow = true;  // no answer but a whole object's GET is this big
      return 0;
    }
    t->response->body.append(data, n);
    return n;
  }
  t->response->received += n;
  return n;
}

size_t OnUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = std::min(size * count, t->upload.size());
  std::memcpy(buffer, t->upload.data(), n);
  t->upload.remove_prefix(n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    if (name == "etag") t->response->etag = std::string(value);
    if (name == "content-length") {
      uint64_t length = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), length).ec == std::errc()) {
        t->response->content_length = length;
      }
    }
  }
  return n;
}

}  // namespace

S3Counters& GlobalS3Counters() {
  static S3Counters counters;
  return counters;
}

// One easy handle: its keep-alive connection and, set once, what every request shares. Requests
// overwrite their own options instead of curl_easy_reset(), which would also reset the receive
// buffer's size, so that curl allocated a fresh 256 KiB buffer for every request.
struct S3Client::Connection {
  CURL* curl = nullptr;
  explicit Connection(const S3Config& config, const std::string& signing) : curl(curl_easy_init()) {
    if (!curl) throw TransientError("S3: curl_easy_init failed (out of memory?)");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, signing.c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(config.connect_timeout_seconds));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config.stall_timeout_seconds));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L << 10);  // ranges are MiBs: fewer reads and callbacks
    if (!config.ca_bundle.empty()) {
      // The bundle instead of the system's roots, as the AWS tools read AWS_CA_BUNDLE.
      curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_bundle.c_str());
      curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnUpload);
  }
  ~Connection() { curl_easy_cleanup(curl); }
};

S3Client::S3Client(S3Config config)
    : config_(std::move(config)),
      credentials_(config_),
      signing_("aws:amz:" + config_.region + ":s3"),
      random_(std::random_device{}()) {
  static CurlGlobal global;
}

S3Client::~S3Client() = default;

std::string S3Client::Url(std::string_view bucket, std::string_view key) {
  return "s3://" + std::string(bucket) + (key.empty() ? "" : "/" + std::string(key));
}

std::unique_ptr<S3Client::Connection> S3Client::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  return std::make_unique<Connection>(config_, signing_);
}

void S3Client::Release(std::unique_ptr<Connection> connection) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(connection));
}

int S3Client::Attempt(Connection& connection, const S3Request& request, const S3Credentials& credentials,
                      S3Response* response) {
  CURL* curl = connection.curl;
  *response = S3Response{};
  Transfer transfer{curl, &request, response, request.body};
  const std::string url = S3RequestUrl(config_, request.bucket, request.key, request.query);

  curl_slist* headers = nullptr;
  const bool has_body = request.method == "PUT" || request.method == "POST";
  const std::string payload_hash = has_body && !request.body.empty() ? HexSha256(request.body) : kEmptySha256;
  headers = curl_slist_append(headers, ("x-amz-content-sha256: " + payload_hash).c_str());
  if (!credentials.session_token.empty()) {
    headers = curl_slist_append(headers, ("x-amz-security-token: " + credentials.session_token).c_str());
  }
  std::string range;
  if (request.range_offset) {
    range = "Range: bytes=" + std::to_string(*request.range_offset) + "-" +
            std::to_string(*request.range_offset + request.range_length - 1);
    headers = curl_slist_append(headers, range.c_str());
  }
  if (!request.content_type.empty()) {
    headers = curl_slist_append(headers, ("Content-Type: " + request.content_type).c_str());
  }
  // No "Expect:" to switch off 100-continue: libcurl 7.88 signs a removed header as an empty one
  // it then does not send, and the server refuses the signature.

  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_USERNAME, credentials.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, credentials.secret_access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
  // Back to a plain GET (HTTPGET clears NOBODY, UPLOAD and POST), then this request's method.
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  CURLcode code = curl_easy_perform(curl);
  // Nothing of this call may stay referenced by the pooled handle.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
  if (code == CURLE_OK && request.sink && response->status == 206 && response->received != request.range_length) {
    code = CURLE_PARTIAL_FILE;  // a short range without a short Content-Length: cut somewhere on the way
  }
  if (code == CURLE_WRITE_ERROR && transfer.overflow) code = CURLE_RECV_ERROR;
  if (code != CURLE_OK) response->body = error[0] ? error : curl_easy_strerror(code);
  return static_cast<int>(code);
}

S3Response S3Client::Perform(const S3Request& request, bool allow_not_found) {
  S3Counters& counters = GlobalS3Counters();
  const std::string where =
      request.purpose.empty() ? request.method + " " + Url(request.bucket, request.key) : request.purpose;
  std::string last_problem;
  for (int attempt = 1;; ++attempt) {
    S3Response response;
    const S3Credentials credentials = credentials_.Current();
    auto connection = Acquire();
    ++counters.requests;
    const int code = Attempt(*connection, request, credentials, &response);
    Release(std::move(connection));

    std::string error_code;
    if (code == CURLE_OK && (response.status < 200 || response.status >= 300 || request.method == "POST")) {
      if (auto body = ParseS3Error(response.body)) error_code = body->code;
    }
    if (code == CURLE_OK && request.sink && response.status == 200) {
      // The server ignored Range: the bytes are not the ones asked for.
      throw StorageError(where + ": the server answered a ranged read with the whole object (Range unsupported?)");
    }
    const S3Outcome outcome = ClassifyS3(code, response.status, error_code);
    if (outcome == S3Outcome::kOk) {
      if (request.sink) counters.bytes_read += static_cast<int64_t>(response.received);
      if (request.method == "PUT") counters.bytes_written += static_cast<int64_t>(request.body.size());
      return response;
    }
    const std::string problem =
        code != CURLE_OK ? response.body + " (curl error " + std::to_string(code) + ")"
                         : "HTTP " + std::to_string(response.status) + (error_code.empty() ? "" : " " + error_code);
    if (outcome == S3Outcome::kNotFound && allow_not_found) return response;
    if (outcome == S3Outcome::kRetry && attempt < config_.max_attempts) {
      ++counters.retries;
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      double draw;
      {
        std::lock_guard<std::mutex> lock(mu_);
        draw = uniform(random_);
      }
      const auto delay = S3RetryDelay(attempt, draw);
      if (attempt == 1 || attempt + 1 == config_.max_attempts) {
        LogWarning("s3", where + ": " + problem + "; retrying in " + std::to_string(delay.count()) + " ms (try " +
                             std::to_string(attempt + 1) + " of " + std::to_string(config_.max_attempts) + ")");
      }
      std::this_thread::sleep_for(delay);
      continue;
    }
    ++counters.failures;
    if (outcome == S3Outcome::kRetry) {
      throw TransientError(where + ": " + problem + " after " + std::to_string(attempt) +
                           " tries (the object store at " + config_.endpoint +
                           " is failing or unreachable; a restart resumes from the last checkpoint)");
    }
    std::string hint = S3Hint(response.status, error_code, config_.credentials.source, config_.endpoint);
    if (code != CURLE_OK) {
      hint = "check the endpoint URL and, for HTTPS, that AWS_CA_BUNDLE names the CA that signed its certificate";
    }
    if (hint.find(config_.credentials.source) == std::string::npos) {
      hint += (hint.empty() ? "" : "; ") + std::string("credentials from ") + config_.credentials.source;
    }
    const std::string message = where + ": " + problem + " (" + hint + ")";
    if (outcome == S3Outcome::kNotFound) throw NotFoundError(message);
    throw StorageError(message);
  }
}

}  // namespace kubecnn::storage

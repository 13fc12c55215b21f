// CephObjectGateway: scripts/ceph-rgw.sh around a scratch folder; S3Request and S3TestClient over libcurl.
#include "tests/support/s3_server.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "tests/support/process.h"

namespace kubecnn::testing {
namespace {

std::string PercentEncode(const std::string& text, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The text of each <tag>...</tag> in `xml`, entities decoded (S3's answers are flat enough).
std::vector<std::string> XmlValues(const std::string& xml, const std::string& tag) {
  std::vector<std::string> values;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t at = 0; (at = xml.find(open, at)) != std::string::npos;) {
    at += open.size();
    const size_t end = xml.find(close, at);
    if (end == std::string::npos) break;
    std::string value = xml.substr(at, end - at);
    static const std::pair<const char*, const char*> kEntities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
    for (const auto& [entity, text] : kEntities) {
      for (size_t p = 0; (p = value.find(entity, p)) != std::string::npos; p += std::strlen(text)) {
        value.replace(p, std::strlen(entity), text);
      }
    }
    values.push_back(std::move(value));
    at = end + close.size();
  }
  return values;
}

size_t AppendBody(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* reply_ptr) {
  auto* reply = static_cast<S3Reply*>(reply_ptr);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) reply->headers.clear();  // a new (final or interim) response
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    const size_t end = line.find_last_not_of("\r\n");
    reply->headers[name] = value == std::string::npos || end < value ? "" : line.substr(value, end - value + 1);
  }
  return size * count;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Describe(const std::string& method, const std::string& path, const std::string& query,
                     const S3Account& account) {
  return "S3 " + method + " " + account.endpoint + path + (query.empty() ? "" : "?" + query);
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Starts a gateway in `dir` on `bind_address`: the script's DIR/env as an account.
S3Account StartGateway(const std::string& dir, const std::string& bind_address) {
  if (!CephObjectGateway::Installed()) throw std::runtime_error(CephObjectGateway::kInstallHint);
  const std::string output = dir + ".start.log";
  Process script({"bash", std::string(KUBECNN_SOURCE_DIR) + "/scripts/ceph-rgw.sh", "start", dir, bind_address}, output,
                 {"CEPH_RGW_WATCH_PID=" + std::to_string(::getpid())});
  const std::optional<int> exit_code = script.Wait(std::chrono::minutes(3));
  if (exit_code != 0) {
    throw std::runtime_error("starting Ceph's object gateway (scripts/ceph-rgw.sh start " + dir + " " + bind_address +
                             ") " + (exit_code ? "failed" : "did not finish in 3 minutes") + ":\n" + script.output() +
                             "(the daemons' logs are in " + dir + "/log)");
  }
  std::map<std::string, std::string> env;
  std::istringstream lines(ReadFile(dir + "/env"));
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (env["S3_ENDPOINT"].empty() || env["S3_ACCESS_KEY"].empty() || env["S3_SECRET_KEY"].empty()) {
    throw std::runtime_error("scripts/ceph-rgw.sh wrote no S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY to " + dir +
                             "/env:\n" + script.output());
  }
  return S3Account{env["S3_ENDPOINT"], env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"]};
}

}  // namespace

std::string S3Reply::ErrorCode() const {
  const std::vector<std::string> codes = XmlValues(body, "Code");
  return codes.empty() ? "" : codes.front();
}

std::string S3ObjectPath(const std::string& bucket, const std::string& key) {
  return "/" + bucket + (key.empty() ? "" : "/" + PercentEncode(key, true));
}

std::string S3Query(std::vector<std::pair<std::string, std::string>> parameters) {
  std::sort(parameters.begin(), parameters.end());
  std::string query;
  for (const auto& [name, value] : parameters) {
    query += (query.empty() ? "" : "&") + PercentEncode(name, false) + "=" + PercentEncode(value, false);
  }
  return query;
}

S3Reply S3Request(const S3Account& account, const std::string& method, const std::string& path,
                  const std::string& query, const std::string& body, std::chrono::milliseconds timeout) {
  InitCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  S3Reply reply;
  const std::string url = account.endpoint + path + (query.empty() ? "" : "?" + query);
  const std::string user = account.access_key + ":" + account.secret_key;
  // radosgw wants the payload hash header on every signed request. No header removals ("Expect:"):
  // curl 7.88 signs them as empty headers it then does not send, and the signature no longer matches.
  const bool sends_body = method == "PUT" || method == "POST";
  curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (sends_body) headers = curl_slist_append(headers, "Content-Type: application/octet-stream");  // not a form
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(c, CURLOPT_USERPWD, user.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (sends_body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const CURLcode code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  reply.curl_code = static_cast<int>(code);
  if (code != CURLE_OK) reply.transport_error = error[0] != '\0' ? error : curl_easy_strerror(code);
  return reply;
}

S3Reply S3TestClient::RequestOrThrow(const std::string& method, const std::string& path, const std::string& query,
                                     const std::string& body, bool not_found_ok) const {
  S3Reply reply = S3Request(account_, method, path, query, body);
  if (reply.curl_code != 0) {
    throw std::runtime_error(Describe(method, path, query, account_) + ": " + reply.transport_error +
                             " (is the server up? its logs are beside its scratch folder)");
  }
  if (reply.status >= 300 && !(not_found_ok && reply.status == 404)) {
    throw std::runtime_error(Describe(method, path, query, account_) + ": HTTP " + std::to_string(reply.status) + " " +
                             reply.ErrorCode() + "\n" + reply.body.substr(0, 1000) +
                             (reply.status == 403 ? "\n(403: wrong keys, or a request signed differently "
                                                    "from what the server recomputes)"
                                                  : ""));
  }
  return reply;
}

void S3TestClient::CreateBucket(const std::string& bucket) const {
  RequestOrThrow("PUT", S3ObjectPath(bucket, ""), "", "");
}

std::string S3TestClient::CreateUniqueBucket(const std::string& prefix) const {
  static std::atomic<int> counter{0};
  const std::string bucket = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  CreateBucket(bucket);
  return bucket;
}

void S3TestClient::PutObject(const std::string& bucket, const std::string& key, const std::string& bytes) const {
  RequestOrThrow("PUT", S3ObjectPath(bucket, key), "", bytes);
}

std::optional<std::string> S3TestClient::GetObject(const std::string& bucket, const std::string& key) const {
  S3Reply reply = RequestOrThrow("GET", S3ObjectPath(bucket, key), "", "", /*not_found_ok=*/true);
  if (reply.status == 404) {
    if (reply.ErrorCode() == "NoSuchKey") return std::nullopt;
    throw std::runtime_error(Describe("GET", S3ObjectPath(bucket, key), "", account_) + ": " + reply.ErrorCode() +
                             " (create the bucket first)");
  }
  return std::move(reply.body);
}

void S3TestClient::DeleteObject(const std::string& bucket, const std::string& key) const {
  RequestOrThrow("DELETE", S3ObjectPath(bucket, key), "", "");
}

std::vector<std::string> S3TestClient::ListKeys(const std::string& bucket, const std::string& prefix) const {
  std::vector<std::string> keys;
  std::string continuation;
  do {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!continuation.empty()) query.emplace_back("continuation-token", continuation);
    const S3Reply reply = RequestOrThrow("GET", S3ObjectPath(bucket, ""), S3Query(query), "");
    for (std::string& key : XmlValues(reply.body, "Key")) keys.push_back(std::move(key));
    const std::vector<std::string> truncated = XmlValues(reply.body, "IsTruncated");
    const std::vector<std::string> next = XmlValues(reply.body, "NextContinuationToken");
    continuation = !truncated.empty() && truncated[0] == "true" && !next.empty() ? next[0] : "";
  } while (!continuation.empty());
  std::sort(keys.begin(), keys.end());
  return keys;
}

bool CephObjectGateway::Installed() {
  for (const char* program : {"ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph"}) {
    if (!OnPath(program)) return false;
  }
  return true;
}

CephObjectGateway& CephObjectGateway::Shared() {
  static std::mutex mutex;
  static std::unique_ptr<CephObjectGateway> shared;  // destroyed, and so stopped, at exit
  static std::string failure;
  std::lock_guard lock(mutex);
  if (!shared && failure.empty()) {
    try {
      shared = std::make_unique<CephObjectGateway>();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (!shared) throw std::runtime_error(failure);
  return *shared;
}

CephObjectGateway::CephObjectGateway(const std::string& bind_address)
    : dir_(scratch_ / "ceph"), client_(StartGateway(dir_, bind_address)) {}

CephObjectGateway::~CephObjectGateway() {
  Process script({"bash", std::string(KUBECNN_SOURCE_DIR) + "/scripts/ceph-rgw.sh", "stop", dir_}, dir_ + ".stop.log");
  if (script.Wait(std::chrono::seconds(30)) != 0) {
    std::fprintf(stderr, "stopping Ceph's object gateway in %s failed:\n%s\n", dir_.c_str(), script.output().c_str());
  }
}

std::string CephObjectGateway::host() const {
  const size_t start = endpoint().find("://") + 3;
  return endpoint().substr(start, endpoint().rfind(':') - start);
}

int CephObjectGateway::port() const { return std::stoi(endpoint().substr(endpoint().rfind(':') + 1)); }

}  // namespace kubecnn::testing

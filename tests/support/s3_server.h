// A real S3 server for tests (Ceph's radosgw, started by scripts/ceph-rgw.sh) and a small signed S3
// client (libcurl, SigV4) to set up and inspect buckets independently of the code under test.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_files.h"

// Skips the test (fails it under CI) when Ceph's object gateway is not installed.
#define KUBECNN_SKIP_WITHOUT_CEPH()                                    \
  KUBECNN_SKIP_IF(!::kubecnn::testing::CephObjectGateway::Installed(), \
                  ::kubecnn::testing::CephObjectGateway::kInstallHint)

namespace kubecnn::testing {

// Where an S3 server is and who we are to it.
struct S3Account {
  std::string endpoint;  // "http://127.0.0.1:PORT"
  std::string access_key;
  std::string secret_key;
  // The same credentials at another endpoint, e.g. a FaultProxy's url().
  S3Account WithEndpoint(const std::string& url) const { return S3Account{url, access_key, secret_key}; }
};

struct S3Reply {
  long status = 0;                             // 0 when no HTTP answer came
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  int curl_code = 0;            // CURLcode; 0 when the transfer completed
  std::string transport_error;  // libcurl's message when it did not, e.g. "Recv failure: Connection reset by peer"
  bool ok() const { return curl_code == 0 && status >= 200 && status < 300; }
  std::string ErrorCode() const;  // S3's <Code> in an error body, "" when none
};

// "/bucket/key" with the key percent-encoded as SigV4 wants it ('/' kept).
std::string S3ObjectPath(const std::string& bucket, const std::string& key);
// A query string sorted by name, names and values percent-encoded: SigV4 signs it as sent.
std::string S3Query(std::vector<std::pair<std::string, std::string>> parameters);

// One SigV4-signed request (libcurl's CURLOPT_AWS_SIGV4, region us-east-1, UNSIGNED-PAYLOAD), no
// retries. `path` as made by S3ObjectPath, `query` by S3Query ("" for none).
S3Reply S3Request(const S3Account& account, const std::string& method, const std::string& path,
                  const std::string& query = "", const std::string& body = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Bucket set-up and inspection over S3Request; each throws std::runtime_error naming the request
// and S3's answer when the server does not say yes.
class S3TestClient {
 public:
  explicit S3TestClient(S3Account account) : account_(std::move(account)) {}
  const S3Account& account() const { return account_; }

  void CreateBucket(const std::string& bucket) const;
  // A new bucket named "<prefix>-<pid>-<n>", so tests sharing a server do not see each other's objects.
  std::string CreateUniqueBucket(const std::string& prefix) const;
  void PutObject(const std::string& bucket, const std::string& key, const std::string& bytes) const;
  std::optional<std::string> GetObject(const std::string& bucket, const std::string& key) const;  // nullopt: 404
  void DeleteObject(const std::string& bucket, const std::string& key) const;
  // Every key under `prefix`, sorted (ListObjectsV2, all pages).
  std::vector<std::string> ListKeys(const std::string& bucket, const std::string& prefix = "") const;

 private:
  S3Reply RequestOrThrow(const std::string& method, const std::string& path, const std::string& query,
                         const std::string& body, bool not_found_ok = false) const;
  S3Account account_;
};

// A single-node Ceph object gateway in a fresh scratch folder: up in ~2 s, ~130 MB of memory,
// nothing on disk (memstore). Its daemons are killed when this object goes, or, should the test
// process die first, by the script's watchdog.
class CephObjectGateway {
 public:
  static constexpr const char* kInstallHint =
      "Ceph's object gateway is not installed: apt-get install ceph-mon ceph-osd radosgw";
  // Whether ceph-mon, ceph-osd, radosgw, radosgw-admin and ceph are on PATH.
  static bool Installed();
  // The one gateway of this test binary, started on first use, stopped at exit. Throws as the
  // constructor does (again on every call once starting has failed).
  static CephObjectGateway& Shared();

  // Starts one (scripts/ceph-rgw.sh start) listening on `bind_address`, an address of this
  // process's network namespace (the e2e suite's pod-network bridge, say, so pods reach it); throws
  // std::runtime_error with the script's output.
  explicit CephObjectGateway(const std::string& bind_address = "127.0.0.1");
  ~CephObjectGateway();  // scripts/ceph-rgw.sh stop
  CephObjectGateway(const CephObjectGateway&) = delete;
  CephObjectGateway& operator=(const CephObjectGateway&) = delete;

  const S3Account& account() const { return client_.account(); }
  const std::string& endpoint() const { return client_.account().endpoint; }
  std::string host() const;  // the bind address, "127.0.0.1" by default: a FaultProxy's target
  int port() const;
  const S3TestClient& client() const { return client_; }
  std::string log_dir() const { return dir_ + "/log"; }  // the daemons' logs, to read when a test fails

  void CreateBucket(const std::string& bucket) const { client_.CreateBucket(bucket); }
  std::string CreateUniqueBucket(const std::string& prefix) const { return client_.CreateUniqueBucket(prefix); }
  void PutObject(const std::string& bucket, const std::string& key, const std::string& bytes) const {
    client_.PutObject(bucket, key, bytes);
  }
  std::optional<std::string> GetObject(const std::string& bucket, const std::string& key) const {
    return client_.GetObject(bucket, key);
  }
  void DeleteObject(const std::string& bucket, const std::string& key) const { client_.DeleteObject(bucket, key); }
  std::vector<std::string> ListKeys(const std::string& bucket, const std::string& prefix = "") const {
    return client_.ListKeys(bucket, prefix);
  }

 private:
  ScratchDir scratch_;
  std::string dir_;
  S3TestClient client_;
};

}  // namespace kubecnn::testing

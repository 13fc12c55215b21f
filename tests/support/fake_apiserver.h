// FakeApiServer: an in-process kube-apiserver stand-in on a loopback port for the operator's tests.
// It speaks the real REST paths and JSON for pods, services, configmaps, secrets, events,
// namespaces, leases, podgroups (Volcano and scheduler-plugins) and trainingjobs, with the
// semantics of ApiStore, and injects faults: dropped watches, 429/5xx with Retry-After, slow
// responses, compacted history.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/apiserver_http.h"
#include "tests/support/apiserver_rbac.h"
#include "tests/support/apiserver_store.h"
#include "tests/support/test_pki.h"

namespace kubecnn::testing {

struct FakeApiServerOptions {
  bool tls = false;  // serve HTTPS with a freshly generated CA (see pki())
  std::chrono::milliseconds bookmark_interval{1000};
  int default_watch_timeout_seconds = 60;  // when a watch names no timeoutSeconds
};

// How a watch from a compacted resourceVersion is refused. Real servers (watch cache) answer 200
// and one ERROR event carrying a 410 Status; older paths answer HTTP 410.
enum class GoneMode { kInStreamEvent, kHttpStatus };

struct RecordedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::string authorization;
  std::string content_type;
  std::string client_cert_subject;
  std::string body;
  int status = 0;
};

class FakeApiServer {
 public:
  explicit FakeApiServer(FakeApiServerOptions options = {});
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  int port() const { return http_->port(); }
  std::string url() const;                     // http(s)://127.0.0.1:<port>
  const TestPki& pki() const { return pki_; }  // meaningful with tls
  ApiStore& store() { return store_; }         // direct access, bypassing HTTP and faults
  // A kubeconfig for this server: certificate-authority-data when TLS, and `user_yaml` (lines of
  // the user entry, e.g. "token: abc") as its only user.
  std::string Kubeconfig(const std::string& user_yaml, const std::string& ns = "default") const;

  // Authentication: when tokens are set, a request needs "Authorization: Bearer <one of them>" or
  // a client certificate signed by pki().ca; otherwise 401.
  void RequireBearerTokens(std::set<std::string> tokens);

  // RBAC: a request bearing "Bearer <token>" acts as `user` and is authorised against `rules`
  // (403 Forbidden with the API server's message otherwise); its creates and updates that set
  // blockOwnerDeletion also need update on the owner's finalizers, as under the
  // OwnerReferencesPermissionEnforcement admission plugin (on in OpenShift). Other requests are
  // not restricted.
  void SetRbac(const std::string& token, const std::string& user, std::vector<PolicyRule> rules);
  // The kind (group, plural) is no longer served, as when its CRD is not installed: 404 on its paths.
  void Unserve(const std::string& group, const std::string& plural);

  // Faults.
  void DropWatches();  // closes every open watch stream abruptly (no terminating chunk)
  void FailNextRequests(int count, int code, int retry_after_seconds);  // retry_after < 0: no header
  void SetResponseDelay(std::chrono::milliseconds delay);
  void Compact() { store_.Compact(); }
  void SetGoneMode(GoneMode mode) { gone_mode_ = mode; }
  // Crash simulation: once `n` more writes (POST, PUT, PATCH, DELETE) have taken effect, every later
  // write is dropped unanswered and unapplied, as if the process sending it had died right after
  // write n. Writes are serialised, so exactly n get through. ResumeWrites disarms it.
  void CutWritesAfter(int64_t n);
  void ResumeWrites();
  int64_t AppliedWrites() const { return applied_writes_; }  // 2xx answers to writes, ever
  int64_t DroppedWrites() const { return dropped_writes_; }  // dropped since the last CutWritesAfter

  // pods/log, as a kubelet serves it: the text a pod's container wrote so far; a follow request
  // streams what is appended until ClosePodLog (the container ended). The pod must exist (404); a
  // pod made again under the same name starts with an empty log.
  void AppendPodLog(const std::string& ns, const std::string& pod, const std::string& text);
  void ClosePodLog(const std::string& ns, const std::string& pod);

  std::vector<RecordedRequest> Requests() const;
  void ClearRequests();
  int ActiveWatches() const { return active_watches_; }
  int64_t WatchesServed() const { return watches_served_; }
  int64_t LogStreamsServed() const { return log_streams_served_; }  // pods/log requests answered with 200

 private:
  void Handle(const ServerRequest& request, ResponseWriter& writer);
  int Dispatch(const ServerRequest& request, ResponseWriter& writer);
  int ServeWatch(const ApiKind& kind, const std::string& ns, const ServerRequest& request, ResponseWriter& writer);
  std::string PodLogKey(const std::string& ns, const std::string& pod);  // by the pod's uid
  int ServePodLog(const ApiKind& kind, const std::string& ns, const std::string& name, bool follow,
                  ResponseWriter& writer);

  FakeApiServerOptions options_;
  TestPki pki_;
  ApiStore store_;
  std::unique_ptr<HttpTestServer> http_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> drop_epoch_{0};
  std::atomic<int> active_watches_{0};
  std::atomic<int64_t> watches_served_{0};
  std::atomic<int64_t> log_streams_served_{0};
  std::atomic<GoneMode> gone_mode_{GoneMode::kInStreamEvent};
  mutable std::mutex mu_;
  std::set<std::string> tokens_;
  struct Rbac {
    std::string user;
    std::vector<PolicyRule> rules;
  };
  std::map<std::string, Rbac> rbac_;  // by bearer token
  std::set<std::string> unserved_;    // "group/plural"
  int fail_count_ = 0;
  int fail_code_ = 0;
  int fail_retry_after_ = -1;
  std::chrono::milliseconds delay_{0};
  std::vector<RecordedRequest> requests_;
  std::mutex write_mu_;  // serialises writes, so a cut lets exactly n through
  std::atomic<int64_t> applied_writes_{0};
  std::atomic<int64_t> dropped_writes_{0};
  std::atomic<int64_t> cut_at_{-1};  // applied_writes_ value after which writes are dropped; -1: none
  struct PodLog {
    std::string text;
    bool closed = false;
  };
  std::mutex logs_mu_;
  std::condition_variable logs_cv_;
  std::map<std::string, PodLog> pod_logs_;  // by "namespace/pod/uid"
};

}  // namespace kubecnn::testing

// A Kubernetes REST client: typed paths for any Resource, JSON objects, client-side rate limit,
// retries honouring Retry-After, token-file rotation, API errors carrying the server's Status,
// and watches delivered event by event.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/backoff.h"
#include "operator/kube/clock.h"
#include "operator/kube/http_transport.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/metrics.h"
#include "operator/kube/rate_limiter.h"
#include "operator/kube/resource.h"
#include "operator/kube/watch_event.h"

namespace kubecnn::kube {

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;  // page size; 0: everything at once
  std::string continue_token;
  std::string resource_version;  // "" = most recent (a consistent read)
};

struct ObjectList {
  std::vector<nlohmann::json> items;
  std::string resource_version;
  std::string continue_token;
};

struct DeleteOptions {
  std::string propagation_policy;  // "", Background, Foreground, Orphan
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::optional<int64_t> grace_period_seconds;  // 0: at once (a kubelet confirming a pod has stopped)
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  int timeout_seconds = 0;  // server-side end of the stream; 0 leaves it to the server
};

struct ClientOptions {
  RetryPolicy retry;
  std::chrono::seconds max_watch_seconds{600};  // watches idle longer than this are treated as dead
  HttpLimits limits;                            // how much of an answer is taken
  Clock* clock = nullptr;                       // RealClock() when null
};

class Client {
 public:
  explicit Client(RestConfig config, std::shared_ptr<Metrics> metrics = nullptr, ClientOptions options = {});
  ~Client();

  nlohmann::json Get(const Resource& resource, const std::string& ns, const std::string& name);
  // One page.
  ObjectList List(const Resource& resource, const std::string& ns, const ListOptions& options = {});
  // Every page (limit = page size), all from one snapshot. If the continue token expires midway
  // (410), starts over once without paging, as client-go's pager does.
  ObjectList ListAll(const Resource& resource, const std::string& ns, ListOptions options = {});
  nlohmann::json Create(const Resource& resource, const std::string& ns, const nlohmann::json& object);
  // PUT of the whole object; its metadata.resourceVersion makes it conditional (409 when stale).
  nlohmann::json Update(const Resource& resource, const nlohmann::json& object);
  nlohmann::json UpdateStatus(const Resource& resource, const nlohmann::json& object);
  // RFC 7386 merge patch of the object or of its /status.
  nlohmann::json MergePatch(const Resource& resource, const std::string& ns, const std::string& name,
                            const nlohmann::json& patch, bool status = false);
  // Returns the server's answer (the object, possibly with a deletionTimestamp when finalizers hold it).
  nlohmann::json Delete(const Resource& resource, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {});

  // Streams a watch: on_event gets each event (bookmarks and in-stream ERRORs included) until the
  // server ends the stream, on_event returns false, or `stop` fires. An HTTP error status throws
  // ApiError (410 included); a broken connection throws TransportError. Each event is the
  // handler's to keep (an rvalue: a cache moves the object in instead of copying it).
  void Watch(const Resource& resource, const std::string& ns, const WatchOptions& options,
             const std::function<bool(WatchEvent&&)>& on_event, StopSignal* stop = nullptr);

  // GET of a text body read line by line as it arrives (a pod's log, ?follow=true), until the body
  // ends, on_line returns false or `stop` fires. `target` is a path with its query. An HTTP error
  // status throws ApiError; a broken connection throws TransportError.
  void StreamLines(const std::string& target, const std::function<bool(std::string_view line)>& on_line,
                   StopSignal* stop = nullptr);

  const RestConfig& config() const { return config_; }
  Metrics& metrics() { return *metrics_; }
  // The same metrics for the parts that report beside the client (work queues, worker pools), so
  // the operator's one registry exposes them.
  std::shared_ptr<Metrics> shared_metrics() const { return metrics_; }
  Clock& clock() { return *clock_; }
  // When the API server last answered anything (a response of any status, a watch event or
  // bookmark), on clock(); nullopt before the first answer. Readiness is judged from it.
  std::optional<SteadyTime> LastContact() const;

 private:
  void Contact();
  HttpResponse Do(const std::string& verb, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::string& content_type = "");
  std::vector<std::pair<std::string, std::string>> Headers();
  double Random01();

  RestConfig config_;
  std::shared_ptr<Metrics> metrics_;
  ClientOptions options_;
  Clock* clock_;
  TokenSource tokens_;
  ClientRateLimiter limiter_;
  HttpTransport transport_;
  HttpTransport watch_transport_;
  std::mutex random_mu_;
  std::mt19937_64 random_;
  std::atomic<int64_t> last_contact_ns_{-1};  // steady clock's time_since_epoch; -1: never
};

// "?a=1&b=2" from the non-empty pairs (values percent-encoded); "" when all are empty.
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace kubecnn::kube

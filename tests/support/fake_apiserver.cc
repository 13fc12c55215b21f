// FakeApiServer: authentication, fault injection, routing of kube-apiserver paths to ApiStore, and
// watch streaming (one JSON event per line over chunked transfer, bookmarks, timeouts).
#include "tests/support/fake_apiserver.h"

#include <functional>
#include <sstream>
#include <thread>

#include "operator/kube/yaml_json.h"

namespace kubecnn::testing {
namespace {

const ResponseWriter::Headers kJson = {{"Content-Type", "application/json"}, {"Cache-Control", "no-cache, private"}};

int SendJson(ResponseWriter& writer, int code, const nlohmann::json& body, ResponseWriter::Headers extra = {}) {
  ResponseWriter::Headers headers = kJson;
  headers.insert(headers.end(), extra.begin(), extra.end());
  writer.Send(code, headers, body.dump());
  return code;
}

// Forwards to `inner`, telling `on_status` the status code just before it is sent.
class RecordingWriter final : public ResponseWriter {
 public:
  RecordingWriter(ResponseWriter& inner, std::function<void(int)> on_status)
      : inner_(inner), on_status_(std::move(on_status)) {}
  bool Send(int status, const Headers& headers, std::string_view body) override {
    on_status_(status);
    return inner_.Send(status, headers, body);
  }
  bool StartChunked(int status, const Headers& headers) override {
    on_status_(status);
    return inner_.StartChunked(status, headers);
  }
  bool WriteChunk(std::string_view data) override { return inner_.WriteChunk(data); }
  bool EndChunked() override { return inner_.EndChunked(); }
  void Abort() override { inner_.Abort(); }

 private:
  ResponseWriter& inner_;
  std::function<void(int)> on_status_;
};

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

struct Route {
  const ApiKind* kind = nullptr;
  std::string ns;
  std::string name;
  std::string subresource;
};

// Maps /api/v1/... and /apis/<group>/<version>/... onto a kind, namespace, name and subresource.
bool ParseRoute(const std::string& path, Route* route) {
  const std::vector<std::string> s = Split(path);
  std::string group, version;
  size_t i;
  if (s.size() >= 3 && s[0] == "api") {
    version = s[1];
    i = 2;
  } else if (s.size() >= 4 && s[0] == "apis") {
    group = s[1];
    version = s[2];
    i = 3;
  } else {
    return false;
  }
  std::vector<std::string> rest(s.begin() + static_cast<long>(i), s.end());
  std::string plural;
  if (rest.size() >= 3 && rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize") {
    route->ns = rest[1];
    plural = rest[2];
    rest.erase(rest.begin(), rest.begin() + 3);
  } else {
    plural = rest[0];
    rest.erase(rest.begin());
  }
  if (rest.size() > 2) return false;
  if (!rest.empty()) route->name = rest[0];
  if (rest.size() == 2) route->subresource = rest[1];
  route->kind = FindKind(group, version, plural);
  if (!route->kind) return false;
  if (!route->kind->namespaced && !route->ns.empty()) return false;
  if (route->kind->namespaced && route->ns.empty() && !route->name.empty()) return false;
  return true;
}

bool IsTrue(const std::string& value) { return value == "true" || value == "1"; }

std::string MediaType(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  return media;
}

}  // namespace

FakeApiServer::FakeApiServer(FakeApiServerOptions options) : options_(options) {
  std::optional<ServerTls> tls;
  if (options_.tls) {
    pki_ = GenerateTestPki();
    tls = ServerTls{pki_.server.cert_pem, pki_.server.key_pem, pki_.ca.cert_pem};
  }
  http_ = std::make_unique<HttpTestServer>([this](const ServerRequest& r, ResponseWriter& w) { Handle(r, w); }, tls);
}

FakeApiServer::~FakeApiServer() {
  stopping_ = true;
  logs_cv_.notify_all();
  store_.WakeWatchers();
  http_->Stop();  // watches see stopping_ and end; blocked writes fail as connections close
}

std::string FakeApiServer::url() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::string FakeApiServer::Kubeconfig(const std::string& user_yaml, const std::string& ns) const {
  std::string out = "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: " + url() + "\n";
  if (options_.tls) out += "    certificate-authority-data: " + Base64Encode(pki_.ca.cert_pem) + "\n";
  out += "users:\n- name: tester\n  user:\n";
  std::stringstream lines(user_yaml);
  for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
  if (user_yaml.empty()) out += "    {}\n";
  out += "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: " + ns +
         "\ncurrent-context: fake\n";
  return out;
}

void FakeApiServer::RequireBearerTokens(std::set<std::string> tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ = std::move(tokens);
}

void FakeApiServer::SetRbac(const std::string& token, const std::string& user, std::vector<PolicyRule> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  rbac_[token] = {user, std::move(rules)};
}

void FakeApiServer::Unserve(const std::string& group, const std::string& plural) {
  std::lock_guard<std::mutex> lock(mu_);
  unserved_.insert(group + "/" + plural);
}

void FakeApiServer::DropWatches() {
  ++drop_epoch_;
  store_.WakeWatchers();
}

void FakeApiServer::FailNextRequests(int count, int code, int retry_after_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_count_ = count;
  fail_code_ = code;
  fail_retry_after_ = retry_after_seconds;
}

void FakeApiServer::SetResponseDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = delay;
}

void FakeApiServer::CutWritesAfter(int64_t n) {
  std::lock_guard<std::mutex> lock(write_mu_);
  dropped_writes_ = 0;
  cut_at_ = applied_writes_ + n;
}

void FakeApiServer::ResumeWrites() {
  std::lock_guard<std::mutex> lock(write_mu_);
  cut_at_ = -1;
}

std::vector<RecordedRequest> FakeApiServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeApiServer::ClearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
}

void FakeApiServer::Handle(const ServerRequest& request, ResponseWriter& writer) {
  size_t record;
  std::chrono::milliseconds delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    record = requests_.size();
    requests_.push_back({request.method, request.path, request.query, request.Header("authorization"),
                         request.Header("content-type"), request.client_cert_subject, request.body, 0});
    delay = delay_;
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  // The status is recorded before the response leaves, so a client that has its answer always
  // finds it in Requests().
  RecordingWriter recording(writer, [this, record](int status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (record < requests_.size()) requests_[record].status = status;
  });
  const std::string& m = request.method;
  const bool write = m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
  int status = 0;
  if (write) {
    std::lock_guard<std::mutex> serial(write_mu_);
    if (cut_at_ >= 0 && applied_writes_ >= cut_at_) {
      ++dropped_writes_;
      writer.Abort();  // a dead client hears nothing, and nothing it sent takes effect
    } else {
      status = Dispatch(request, recording);
      if (status >= 200 && status <= 299) ++applied_writes_;
    }
  } else {
    status = Dispatch(request, recording);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (record < requests_.size() && requests_[record].status == 0) requests_[record].status = status;  // no reply sent
}

int FakeApiServer::Dispatch(const ServerRequest& request, ResponseWriter& writer) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!tokens_.empty()) {
      const std::string auth = request.Header("authorization");
      const bool token_ok = auth.rfind("Bearer ", 0) == 0 && tokens_.count(auth.substr(7));
      if (!token_ok && request.client_cert_subject.empty()) {
        lock.unlock();
        return SendJson(writer, 401, StatusBody(401, "Unauthorized", "Unauthorized"));
      }
    }
    if (fail_count_ > 0) {
      --fail_count_;
      const int code = fail_code_;
      ResponseWriter::Headers extra;
      if (fail_retry_after_ >= 0) extra.push_back({"Retry-After", std::to_string(fail_retry_after_)});
      lock.unlock();
      const std::string reason = code == 429   ? "TooManyRequests"
                                 : code == 503 ? "ServiceUnavailable"
                                 : code == 504 ? "Timeout"
                                               : "InternalError";
      const std::string message = code == 429
                                      ? "Too many requests, please try again later."
                                      : "Internal error occurred: injected fault (HTTP " + std::to_string(code) + ")";
      return SendJson(writer, code, StatusBody(code, reason, message), extra);
    }
  }
  if (request.path == "/version") {
    return SendJson(writer, 200, {{"major", "1"}, {"minor", "30"}, {"gitVersion", "v1.30.0-kubecnn-fake"}});
  }
  if (request.path == "/healthz" || request.path == "/readyz" || request.path == "/livez") {
    writer.Send(200, {{"Content-Type", "text/plain"}}, "ok");
    return 200;
  }
  Route route;
  std::optional<Rbac> rbac;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ParseRoute(request.path, &route) || unserved_.count(route.kind->group + "/" + route.kind->plural)) {
      route.kind = nullptr;
    }
    const std::string auth = request.Header("authorization");
    auto it = auth.rfind("Bearer ", 0) == 0 ? rbac_.find(auth.substr(7)) : rbac_.end();
    if (it != rbac_.end()) rbac = it->second;
  }
  if (!route.kind) {
    return SendJson(writer, 404, StatusBody(404, "NotFound", "the server could not find the requested resource"));
  }
  const ApiKind& kind = *route.kind;
  if (rbac) {
    const std::string resource = kind.plural + (route.subresource.empty() ? "" : "/" + route.subresource);
    const std::string verb = RequestVerb(request.method, !route.name.empty(), IsTrue(request.Query("watch")));
    if (!Allows(rbac->rules, kind.group, resource, verb)) {
      return SendJson(writer, 403,
                      StatusBody(403, "Forbidden", ForbiddenMessage(rbac->user, verb, kind.group, resource, route.ns)));
    }
    if (verb == "create" || verb == "update") {
      const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
      const std::optional<std::string> refusal = OwnerReferenceRefusal(rbac->rules, rbac->user, body, route.ns);
      if (refusal) {
        const std::string name =
            body.is_object() ? body.value("metadata", nlohmann::json::object()).value("name", "") : "";
        return SendJson(writer, 403,
                        StatusBody(403, "Forbidden", kind.plural + " \"" + name + "\" is forbidden: " + *refusal));
      }
    }
  }
  try {
    if (route.subresource == "log" && kind.group.empty() && kind.plural == "pods" && request.method == "GET") {
      return ServePodLog(kind, route.ns, route.name, IsTrue(request.Query("follow")), writer);
    }
    if (!route.subresource.empty() && (route.subresource != "status" || !kind.status_subresource)) {
      return SendJson(writer, 404, StatusBody(404, "NotFound", "the server could not find the requested resource"));
    }
    const bool status = route.subresource == "status";
    const std::string& m = request.method;
    if (route.name.empty()) {
      if (m == "GET" && IsTrue(request.Query("watch"))) return ServeWatch(kind, route.ns, request, writer);
      if (m == "GET") {
        const ObjectFilter filter =
            MakeFilter(route.ns, request.Query("labelSelector"), request.Query("fieldSelector"));
        int64_t limit = 0;
        if (!request.Query("limit").empty()) limit = std::stoll(request.Query("limit"));
        return SendJson(writer, 200, store_.List(kind, filter, limit, request.Query("continue")));
      }
      if (m == "POST") {
        if (!kind.namespaced || !route.ns.empty()) {
          return SendJson(writer, 201, store_.Create(kind, route.ns, nlohmann::json::parse(request.body)));
        }
      }
    } else {
      if (m == "GET") return SendJson(writer, 200, store_.Get(kind, route.ns, route.name));
      if (m == "PUT") {
        return SendJson(writer, 200,
                        store_.Update(kind, route.ns, route.name, nlohmann::json::parse(request.body), status));
      }
      if (m == "PATCH") {
        const std::string media = MediaType(request.Header("content-type"));
        if (media == "application/merge-patch+json") {
          return SendJson(writer, 200,
                          store_.MergePatch(kind, route.ns, route.name, nlohmann::json::parse(request.body), status));
        }
        if (media == "application/apply-patch+yaml") {
          nlohmann::json config;
          try {
            config = kube::ParseYaml(request.body);
          } catch (const std::invalid_argument& e) {
            throw BadRequest(std::string("error decoding YAML: ") + e.what());
          }
          return SendJson(writer, 200,
                          store_.Apply(kind, route.ns, route.name, std::move(config), request.Query("fieldManager"),
                                       IsTrue(request.Query("force")), status));
        }
        return SendJson(writer, 415,
                        StatusBody(415, "UnsupportedMediaType",
                                   "the body of the request was in an unknown format - accepted media types include: "
                                   "application/merge-patch+json, application/apply-patch+yaml (this fake server "
                                   "does not implement json-patch or strategic-merge-patch)"));
      }
      if (m == "DELETE" && !status) {
        nlohmann::json options = request.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(request.body);
        std::string propagation = request.Query("propagationPolicy");
        if (propagation.empty()) propagation = options.value("propagationPolicy", "");
        return SendJson(writer, 200,
                        store_.Delete(kind, route.ns, route.name, propagation,
                                      options.value("preconditions", nlohmann::json::object())));
      }
    }
    return SendJson(
        writer, 405,
        StatusBody(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
  } catch (const ApiError& e) {
    return SendJson(writer, e.code(), e.status());
  } catch (const nlohmann::json::exception& e) {
    return SendJson(writer, 400,
                    StatusBody(400, "BadRequest", std::string("the request body is not valid JSON: ") + e.what()));
  } catch (const std::logic_error& e) {  // std::stoll on a bad limit
    return SendJson(writer, 400, StatusBody(400, "BadRequest", std::string("invalid query parameter: ") + e.what()));
  }
}

int FakeApiServer::ServeWatch(const ApiKind& kind, const std::string& ns, const ServerRequest& request,
                              ResponseWriter& writer) {
  const ObjectFilter filter = MakeFilter(ns, request.Query("labelSelector"), request.Query("fieldSelector"));
  const bool bookmarks = IsTrue(request.Query("allowWatchBookmarks"));
  int timeout = options_.default_watch_timeout_seconds;
  if (!request.Query("timeoutSeconds").empty()) timeout = std::stoi(request.Query("timeoutSeconds"));
  const uint64_t epoch = drop_epoch_;
  int64_t rv = 0;
  std::vector<StoreWatchEvent> initial;
  std::string gone_message;
  try {
    initial = store_.StartWatch(kind, filter, request.Query("resourceVersion"), &rv);
  } catch (const ApiError& e) {
    if (e.code() != 410 || gone_mode_ == GoneMode::kHttpStatus) throw;
    gone_message = e.what();
  }
  ++watches_served_;
  ++active_watches_;
  struct Active {
    std::atomic<int>* n;
    ~Active() { --*n; }
  } active{&active_watches_};
  if (!writer.StartChunked(200, kJson)) return 200;
  auto emit = [&](const std::string& type, const nlohmann::json& object) {
    return writer.WriteChunk(nlohmann::json{{"type", type}, {"object", object}}.dump() + "\n");
  };
  if (!gone_message.empty()) {
    emit("ERROR", StatusBody(410, "Expired", gone_message));
    writer.EndChunked();
    return 200;
  }
  for (const StoreWatchEvent& e : initial) {
    if (!emit(e.type, e.object)) return 200;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  auto next_bookmark = std::chrono::steady_clock::now() + options_.bookmark_interval;
  while (true) {
    if (stopping_) {
      writer.EndChunked();
      return 200;
    }
    if (drop_epoch_ != epoch) {
      writer.Abort();
      return 200;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      writer.EndChunked();
      return 200;
    }
    std::vector<StoreWatchEvent> events;
    try {
      events = store_.WaitEvents(kind, filter, &rv, bookmarks ? std::min(deadline, next_bookmark) : deadline,
                                 [&] { return stopping_ || drop_epoch_ != epoch; });
    } catch (const ApiError& e) {
      emit("ERROR", e.status());
      writer.EndChunked();
      return 200;
    }
    if (drop_epoch_ != epoch) {
      writer.Abort();
      return 200;
    }
    for (const StoreWatchEvent& e : events) {
      if (!emit(e.type, e.object)) return 200;
    }
    if (bookmarks && std::chrono::steady_clock::now() >= next_bookmark) {
      if (!emit("BOOKMARK", {{"kind", kind.kind},
                             {"apiVersion", kind.ApiVersion()},
                             {"metadata", {{"resourceVersion", std::to_string(rv)}}}})) {
        return 200;
      }
      next_bookmark = std::chrono::steady_clock::now() + options_.bookmark_interval;
    }
  }
}

std::string FakeApiServer::PodLogKey(const std::string& ns, const std::string& pod) {
  const nlohmann::json object = store_.Get(*FindKind("", "v1", "pods"), ns, pod);
  return ns + "/" + pod + "/" + object["metadata"].value("uid", "");
}

void FakeApiServer::AppendPodLog(const std::string& ns, const std::string& pod, const std::string& text) {
  const std::string key = PodLogKey(ns, pod);
  std::lock_guard<std::mutex> lock(logs_mu_);
  pod_logs_[key].text += text;
  logs_cv_.notify_all();
}

void FakeApiServer::ClosePodLog(const std::string& ns, const std::string& pod) {
  const std::string key = PodLogKey(ns, pod);
  std::lock_guard<std::mutex> lock(logs_mu_);
  pod_logs_[key].closed = true;
  logs_cv_.notify_all();
}

int FakeApiServer::ServePodLog(const ApiKind& kind, const std::string& ns, const std::string& name, bool follow,
                               ResponseWriter& writer) {
  const std::string key = PodLogKey(ns, name);  // 404 for a pod that does not exist, as the API server answers
  if (!writer.StartChunked(200, {{"Content-Type", "text/plain"}})) return 200;
  ++log_streams_served_;
  size_t sent = 0;
  while (true) {
    std::string chunk;
    bool closed = false;
    {
      std::unique_lock<std::mutex> lock(logs_mu_);
      if (follow) {
        logs_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] {
          const PodLog& log = pod_logs_[key];
          return log.text.size() > sent || log.closed || stopping_;
        });
      }
      const PodLog& log = pod_logs_[key];
      chunk = log.text.substr(sent);
      sent = log.text.size();
      closed = log.closed;
    }
    if (!chunk.empty() && !writer.WriteChunk(chunk)) return 200;
    if (!follow || closed || stopping_) {
      writer.EndChunked();
      return 200;
    }
  }
}

}  // namespace kubecnn::testing

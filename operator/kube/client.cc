// Client: every call goes through Do (rate limit, credentials, retry, metrics, errors); watches
// go through the streaming transport.
#include "operator/kube/client.h"

#include "operator/kube/api_error.h"

namespace kubecnn::kube {
namespace {

std::string NameOf(const nlohmann::json& object) { return MetadataOf(object).value("name", ""); }
std::string NamespaceOf(const nlohmann::json& object) { return MetadataOf(object).value("namespace", ""); }

nlohmann::json ParseBody(const std::string& action, const HttpResponse& response) {
  nlohmann::json parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded()) {
    throw std::runtime_error(action + ": the response (HTTP " + std::to_string(response.status) + ") is not JSON: \"" +
                             response.body.substr(0, 200) +
                             "\" (is the server URL an API server and not a proxy or web page?)");
  }
  return parsed;
}

void RequireName(const char* verb, const Resource& resource, const nlohmann::json& object) {
  if (NameOf(object).empty()) {
    throw std::invalid_argument(std::string(verb) + " " + resource.plural +
                                ": the object has no metadata.name (read it from the server or the cache first)");
  }
}

}  // namespace

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    out += (out.empty() ? "?" : "&") + name + "=" + UrlEncode(value);
  }
  return out;
}

Client::Client(RestConfig config, std::shared_ptr<Metrics> metrics, ClientOptions options)
    : config_(std::move(config)),
      metrics_(metrics ? std::move(metrics) : std::make_shared<Metrics>()),
      options_(options),
      clock_(options.clock ? options.clock : &RealClock()),
      tokens_(config_),
      limiter_(config_.qps, config_.burst, *clock_),
      transport_(config_, config_.timeout, options.limits),
      watch_transport_(config_, options.max_watch_seconds, options.limits),
      random_(std::random_device{}()) {}

Client::~Client() = default;

void Client::Contact() {
  last_contact_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch()).count();
}

std::optional<SteadyTime> Client::LastContact() const {
  const int64_t ns = last_contact_ns_;
  if (ns < 0) return std::nullopt;
  return SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(std::chrono::nanoseconds(ns)));
}

double Client::Random01() {
  std::lock_guard<std::mutex> lock(random_mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

std::vector<std::pair<std::string, std::string>> Client::Headers() {
  std::vector<std::pair<std::string, std::string>> headers = {{"Accept", "application/json"},
                                                              {"User-Agent", config_.user_agent}};
  const std::string token = tokens_.Token();
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  return headers;
}

HttpResponse Client::Do(const std::string& verb, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& content_type) {
  const bool idempotent = method == "GET";
  const std::string action = method + " " + target;
  for (int attempt = 1;; ++attempt) {
    limiter_.Wait();
    const HttpRequest request{method, target, Headers(), body, content_type};
    const SteadyTime start = clock_->Now();
    HttpResponse response;
    try {
      response = transport_.Send(request);
    } catch (const TransportError& e) {
      metrics_->ObserveRequest(verb, 0, std::chrono::duration<double>(clock_->Now() - start).count());
      if (!idempotent || attempt >= options_.retry.max_attempts || dynamic_cast<const AnswerTooLarge*>(&e)) throw;
      metrics_->CountRetry("transport");
      clock_->Sleep(BackoffDelay(options_.retry.backoff, attempt - 1, Random01()));
      continue;
    }
    metrics_->ObserveRequest(verb, response.status, std::chrono::duration<double>(clock_->Now() - start).count());
    Contact();
    if (response.status >= 200 && response.status <= 299) return response;
    if (response.status == 401 && tokens_.Refreshable() && attempt == 1) {
      tokens_.Invalidate();  // the token may have rotated or expired under us (a new file, a new plugin run)
      metrics_->CountRetry("unauthorized");
      continue;
    }
    const RetryDecision retry = DecideRetry(response.status, ParseRetryAfter(response.Header("retry-after")),
                                            idempotent, attempt, options_.retry, Random01());
    if (!retry.retry) throw MakeApiError(action, response.status, response.body);
    metrics_->CountRetry(response.status == 429 ? "429" : "5xx");
    clock_->Sleep(retry.delay);
  }
}

nlohmann::json Client::Get(const Resource& resource, const std::string& ns, const std::string& name) {
  const std::string target = ObjectPath(resource, ns, name);
  return ParseBody("GET " + target, Do("get", "GET", target));
}

ObjectList Client::List(const Resource& resource, const std::string& ns, const ListOptions& options) {
  const std::string target =
      CollectionPath(resource, ns) + QueryString({{"labelSelector", options.label_selector},
                                                  {"fieldSelector", options.field_selector},
                                                  {"limit", options.limit > 0 ? std::to_string(options.limit) : ""},
                                                  {"continue", options.continue_token},
                                                  {"resourceVersion", options.resource_version}});
  nlohmann::json list = ParseBody("GET " + target, Do("list", "GET", target));
  ObjectList out;
  const nlohmann::json meta = list.value("metadata", nlohmann::json::object());
  out.resource_version = meta.value("resourceVersion", "");
  out.continue_token = meta.value("continue", "");
  for (nlohmann::json& item : list["items"]) {
    // Built-in lists leave out each item's kind; fill it so cached objects are self-describing.
    if (!item.contains("kind")) item["kind"] = resource.kind;
    if (!item.contains("apiVersion")) item["apiVersion"] = resource.ApiVersion();
    out.items.push_back(std::move(item));
  }
  return out;
}

ObjectList Client::ListAll(const Resource& resource, const std::string& ns, ListOptions options) {
  ObjectList all;
  options.continue_token.clear();
  while (true) {
    ObjectList page;
    try {
      page = List(resource, ns, options);
    } catch (const ApiError& e) {
      if (e.code() != 410 || options.continue_token.empty()) throw;
      // The snapshot expired midway: one unpaged list is consistent by construction.
      options.continue_token.clear();
      options.limit = 0;
      all = ObjectList();
      continue;
    }
    if (all.resource_version.empty()) all.resource_version = page.resource_version;
    for (nlohmann::json& item : page.items) all.items.push_back(std::move(item));
    if (page.continue_token.empty()) return all;
    options.continue_token = page.continue_token;
  }
}

nlohmann::json Client::Create(const Resource& resource, const std::string& ns, const nlohmann::json& object) {
  const std::string target = CollectionPath(resource, ns);
  nlohmann::json body = object;
  if (!body.contains("kind")) body["kind"] = resource.kind;
  if (!body.contains("apiVersion")) body["apiVersion"] = resource.ApiVersion();
  return ParseBody("POST " + target, Do("create", "POST", target, body.dump(), "application/json"));
}

nlohmann::json Client::Update(const Resource& resource, const nlohmann::json& object) {
  RequireName("update", resource, object);
  const std::string target = ObjectPath(resource, NamespaceOf(object), NameOf(object));
  return ParseBody("PUT " + target, Do("update", "PUT", target, object.dump(), "application/json"));
}

nlohmann::json Client::UpdateStatus(const Resource& resource, const nlohmann::json& object) {
  RequireName("update status of", resource, object);
  const std::string target = ObjectPath(resource, NamespaceOf(object), NameOf(object), "status");
  return ParseBody("PUT " + target, Do("update", "PUT", target, object.dump(), "application/json"));
}

nlohmann::json Client::MergePatch(const Resource& resource, const std::string& ns, const std::string& name,
                                  const nlohmann::json& patch, bool status) {
  const std::string target = ObjectPath(resource, ns, name, status ? "status" : "");
  return ParseBody("PATCH " + target, Do("patch", "PATCH", target, patch.dump(), "application/merge-patch+json"));
}

nlohmann::json Client::Delete(const Resource& resource, const std::string& ns, const std::string& name,
                              const DeleteOptions& options) {
  nlohmann::json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  const std::string target = ObjectPath(resource, ns, name);
  return ParseBody("DELETE " + target, Do("delete", "DELETE", target, body.dump(), "application/json"));
}

void Client::Watch(const Resource& resource, const std::string& ns, const WatchOptions& options,
                   const std::function<bool(WatchEvent&&)>& on_event, StopSignal* stop) {
  const std::string target =
      CollectionPath(resource, ns) +
      QueryString({{"watch", "true"},
                   {"resourceVersion", options.resource_version},
                   {"labelSelector", options.label_selector},
                   {"fieldSelector", options.field_selector},
                   {"allowWatchBookmarks", options.allow_bookmarks ? "true" : ""},
                   {"timeoutSeconds", options.timeout_seconds > 0 ? std::to_string(options.timeout_seconds) : ""}});
  limiter_.Wait();
  const SteadyTime start = clock_->Now();
  HttpResponse response;
  try {
    response = watch_transport_.Stream(
        {"GET", target, Headers(), "", ""},
        [&](std::string_view line) {
          Contact();
          return line.empty() || on_event(ParseWatchEvent(line));  // a blank line between events is no event
        },
        stop);
  } catch (const TransportError&) {
    metrics_->ObserveRequest("watch", 0, std::chrono::duration<double>(clock_->Now() - start).count());
    throw;
  }
  metrics_->ObserveRequest("watch", response.status, std::chrono::duration<double>(clock_->Now() - start).count());
  Contact();
  if (response.status < 200 || response.status > 299) {
    if (response.status == 401) tokens_.Invalidate();
    throw MakeApiError("GET " + target, response.status, response.body);
  }
}

void Client::StreamLines(const std::string& target, const std::function<bool(std::string_view line)>& on_line,
                         StopSignal* stop) {
  std::vector<std::pair<std::string, std::string>> headers = Headers();
  headers[0].second = "*/*";  // a log is text, not JSON
  limiter_.Wait();
  const SteadyTime start = clock_->Now();
  HttpResponse response;
  try {
    response = watch_transport_.Stream({"GET", target, headers, "", ""}, on_line, stop);
  } catch (const TransportError&) {
    metrics_->ObserveRequest("get", 0, std::chrono::duration<double>(clock_->Now() - start).count());
    throw;
  }
  metrics_->ObserveRequest("get", response.status, std::chrono::duration<double>(clock_->Now() - start).count());
  Contact();
  if (response.status < 200 || response.status > 299) {
    if (response.status == 401) tokens_.Invalidate();
    throw MakeApiError("GET " + target, response.status, response.body);
  }
}

}  // namespace kubecnn::kube

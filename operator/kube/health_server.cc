// HealthServer: the probes' routes on http::Server, and the readiness rule.
#include "operator/kube/health_server.h"

#include <map>

namespace kubecnn::kube {

std::pair<bool, std::string> Readiness(bool synced, std::optional<std::chrono::steady_clock::duration> since_contact,
                                       std::chrono::steady_clock::duration window) {
  if (!since_contact) return {false, "no answer from the API server yet"};
  if (*since_contact > window) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*since_contact).count();
    return {false, "no answer from the API server for " + std::to_string(seconds) + " s (more than " +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(window).count()) + " s)"};
  }
  if (!synced) return {false, "informer caches not synced yet"};
  return {true, "ok"};
}

http::Limits HealthLimits() {
  http::Limits limits;
  limits.request_deadline = std::chrono::seconds(5);
  limits.idle_timeout = std::chrono::seconds(2);
  return limits;
}

HealthServer::HealthServer(int port, Check healthy, Check ready, const http::Limits& limits) {
  auto probe = [](Check check) -> http::Handler {
    return [check = std::move(check)] {
      const auto [ok, detail] = check();
      return http::Response{ok ? 200 : 503, "text/plain; charset=utf-8",
                            (ok               ? "ok"
                             : detail.empty() ? std::string("not ok")
                                              : detail) +
                                "\n"};
    };
  };
  std::map<std::string, http::Handler> routes{
      {"/healthz", probe(healthy)}, {"/livez", probe(healthy)}, {"/readyz", probe(std::move(ready))}};
  server_ = std::make_unique<http::Server>(http::ListenAddress{"", port}, std::move(routes), limits,
                                           "health endpoint; is the port in use? pick another with --health_port");
}

}  // namespace kubecnn::kube

// /healthz, /livez and /readyz for the kubelet's probes, served by the shared http::Server.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "trainer/common/http_server.h"

namespace kubecnn::kube {

// Readiness of a controller replica: its caches have synced and the API server answered within
// `window` (`since_contact` is how long ago it last did; nullopt: never). A replica that cannot
// reach the API server cannot keep its jobs' status true, so it should not count as ready.
std::pair<bool, std::string> Readiness(bool synced, std::optional<std::chrono::steady_clock::duration> since_contact,
                                       std::chrono::steady_clock::duration window);

// Probes are tiny and the kubelet gives up after its timeoutSeconds (1 s by default): a request
// may take 5 s at most.
http::Limits HealthLimits();

class HealthServer {
 public:
  // (ok, detail): detail is the body, e.g. "informers not synced: pods".
  using Check = std::function<std::pair<bool, std::string>()>;
  // Listens on every address, IPv6 and IPv4, at `port` (0: any free port). Throws
  // std::runtime_error naming the port.
  HealthServer(int port, Check healthy, Check ready, const http::Limits& limits = HealthLimits());
  int port() const { return server_->port(); }

 private:
  std::unique_ptr<http::Server> server_;
};

}  // namespace kubecnn::kube

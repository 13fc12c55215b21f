// /healthz and /readyz on a small HTTP endpoint for the kubelet's probes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace kubecnn::kube {

// Readiness of a controller replica: its caches have synced and the API server answered within
// `window` (`since_contact` is how long ago it last did; nullopt: never). A replica that cannot
// reach the API server cannot keep its jobs' status true, so it should not count as ready.
std::pair<bool, std::string> Readiness(bool synced, std::optional<std::chrono::steady_clock::duration> since_contact,
                                       std::chrono::steady_clock::duration window);

class HealthServer {
 public:
  // (ok, detail): detail is the body, e.g. "informers not synced: pods".
  using Check = std::function<std::pair<bool, std::string>()>;
  // Listens on 0.0.0.0:`port` (0: any free port). Throws std::runtime_error naming the port.
  HealthServer(int port, Check healthy, Check ready);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;
  int port() const { return port_; }

 private:
  void Loop();
  void Serve(int fd);
  Check healthy_;
  Check ready_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace kubecnn::kube

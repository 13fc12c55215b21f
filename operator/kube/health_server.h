// /healthz and /readyz on a small HTTP endpoint for the kubelet's probes.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>

namespace kubecnn::kube {

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

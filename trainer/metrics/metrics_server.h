// The HTTP endpoint serving /metrics for Prometheus: prometheus-cpp's text format over a small
// server of our own. Not prometheus-cpp's Exposer: its civetweb threads get a fixed 100 KiB stack,
// and the CUDA libraries LibTorch loads (libcublasLt alone holds ~92 KiB of static TLS, which glibc
// puts on every thread's stack) leave too little of it, so the Exposer cannot start in a trainer.
#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kubecnn::metrics {

class MetricsServer {
 public:
  // Listens on `address` ("0.0.0.0:9400", "127.0.0.1:0"; port 0 picks a free one). Throws
  // std::runtime_error with the address and a hint when it cannot listen there.
  explicit MetricsServer(const std::string& address);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The server keeps the collectable alive while registered.
  void Register(std::shared_ptr<prometheus::Collectable> collectable);
  int port() const { return port_; }

  // The exposition served at /metrics (text format 0.0.4).
  std::string Scrape() const;

 private:
  void Loop();
  void Serve(int fd) const;

  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a byte on [1] ends Loop
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::thread thread_;
};

}  // namespace kubecnn::metrics

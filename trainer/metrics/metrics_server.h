// The HTTP endpoint serving /metrics for Prometheus (prometheus-cpp's civetweb-based Exposer).
#pragma once

#include <prometheus/collectable.h>

#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Exposer;
}

namespace kubecnn::metrics {

class MetricsServer {
 public:
  // Listens on `address` ("0.0.0.0:9400"; port 0 picks a free one). Throws std::runtime_error
  // with the address and a hint when the port is taken.
  explicit MetricsServer(const std::string& address);
  ~MetricsServer();

  // The server keeps the collectable alive while registered.
  void Register(std::shared_ptr<prometheus::Collectable> collectable);
  int port() const;

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

}  // namespace kubecnn::metrics

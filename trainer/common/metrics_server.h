// The /metrics endpoint of both binaries: prometheus-cpp's text format served by http::Server.
#pragma once

#include <prometheus/collectable.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "trainer/common/http_server.h"

namespace kubecnn::http {

// A scrape may take up to the deadline to reach a slow Prometheus; 10 s is its default timeout.
Limits MetricsLimits();

class MetricsServer {
 public:
  // Listens on `address` (":9400" every address, IPv6 and IPv4; "127.0.0.1:0" loopback, any free
  // port). Throws std::runtime_error with the address and a hint when it cannot listen there.
  explicit MetricsServer(const std::string& address, const Limits& limits = MetricsLimits());
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The server keeps the collectable alive while registered.
  void Register(std::shared_ptr<prometheus::Collectable> collectable);
  int port() const { return server_->port(); }
  // The exposition served at /metrics (text format 0.0.4).
  std::string Scrape() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<Server> server_;  // last: stops before the collectables go
};

}  // namespace kubecnn::http

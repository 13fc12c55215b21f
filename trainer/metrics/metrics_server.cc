// MetricsServer: owns the Exposer and the collectables it serves.
#include "trainer/metrics/metrics_server.h"

#include <prometheus/exposer.h>

#include <stdexcept>

namespace kubecnn::metrics {

MetricsServer::MetricsServer(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    throw std::runtime_error("serving metrics on " + address + ": " + e.what() +
                             " (is the port in use? pick another with --metrics_port)");
  }
}

MetricsServer::~MetricsServer() = default;

void MetricsServer::Register(std::shared_ptr<prometheus::Collectable> collectable) {
  exposer_->RegisterCollectable(collectable);
  collectables_.push_back(std::move(collectable));
}

int MetricsServer::port() const {
  const auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace kubecnn::metrics

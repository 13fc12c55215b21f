// MetricsServer: collects every registered collectable per scrape and serves the text format.
#include "trainer/common/metrics_server.h"

#include <prometheus/text_serializer.h>

#include <stdexcept>

namespace kubecnn::http {

Limits MetricsLimits() { return Limits{}; }

MetricsServer::MetricsServer(const std::string& address, const Limits& limits) {
  ListenAddress where;
  try {
    where = ParseListenAddress(address);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("serving metrics: ") + e.what() + " (set --metrics_port)");
  }
  Handler metrics = [this] { return Response{200, "text/plain; version=0.0.4; charset=utf-8", Scrape()}; };
  server_ = std::make_unique<Server>(where, std::map<std::string, Handler>{{"/metrics", metrics}}, limits,
                                     "serving metrics; is the port in use? pick another with --metrics_port");
}

void MetricsServer::Register(std::shared_ptr<prometheus::Collectable> collectable) {
  std::lock_guard<std::mutex> lock(mu_);
  collectables_.push_back(std::move(collectable));
}

std::string MetricsServer::Scrape() const {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& collectable : collectables_) {
      for (auto& family : collectable->Collect()) families.push_back(std::move(family));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace kubecnn::http

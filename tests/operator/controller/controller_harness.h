// A controller against the fake API server, with the test playing kubelet: the fixture shared by
// the controller's integration tests (controller_test.cc, crash_consistency_test.cc).
#pragma once

#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "operator/controller/controller.h"
#include "tests/operator/controller/job_fixtures.h"
#include "tests/support/fake_apiserver.h"

namespace kubecnn::controller::testing {

// Hands back a preset Progress at once and remembers whom it was asked about.
class FakeScraper : public ProgressScraper {
 public:
  void ScrapeAsync(const std::string& host, int port, Done done) override;
  void Set(api::Progress p);
  std::vector<std::string> hosts();

 private:
  std::mutex mu_;
  std::optional<api::Progress> progress_;
  std::vector<std::string> hosts_;
};

// Zero back-offs, a 1 s progress period, short watches, both PodGroup kinds watched.
ControllerOptions FastOptions();
std::unique_ptr<kube::Client> NewClient(const ::kubecnn::testing::FakeApiServer& server, const std::string& token = "");

class ControllerHarness {
 public:
  ControllerHarness();
  virtual ~ControllerHarness();

  // A fresh Controller (its own client and registry), synced and, with `workers`, working (without,
  // the test runs passes itself with controller_->Reconcile).
  void StartController(ControllerOptions options = FastOptions(), bool workers = true);
  // Stops and destroys the controller: its workers finish the pass they are in.
  void StopController();

  nlohmann::json CreateJob(api::TrainingJob job);
  nlohmann::json Job(const std::string& name = "r50");
  api::TrainingJobStatus Status(const std::string& name = "r50");
  std::map<std::string, nlohmann::json> Pods();
  // Events in namespace ml with `reason`.
  std::vector<nlohmann::json> Events(const std::string& reason);

  // Plays kubelet: rewrites the pod's status with `set` (one of the job_fixtures helpers).
  void Kubelet(const std::string& name, const std::function<nlohmann::json(nlohmann::json)>& set);
  void WorkersReady(int n);

  // Polls `done` until it holds (true) or `timeout` passes (a test failure naming `what`).
  bool WaitFor(const std::function<bool()>& done, const std::string& what,
               std::chrono::seconds timeout = std::chrono::seconds(10));
  bool WaitForWorkers(int n, const std::string& attempt = "0");
  // Creates the job and drives it to a running launcher.
  void RunToLauncher(api::TrainingJob job = MakeJob());

  // Objects created (POSTs answered 201) under paths ending in `plural`.
  int Creates(const std::string& plural);

  ::kubecnn::testing::FakeApiServer server_;
  std::unique_ptr<kube::Client> client_;  // the test's own, as a user's kubectl
  std::shared_ptr<FakeScraper> scraper_;
  std::string controller_token_;  // the operator's bearer token (see FakeApiServer::SetRbac)
  // The running operator: its own client and metrics registry, replaced by each StartController.
  std::unique_ptr<kube::Client> controller_client_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Controller> controller_;
};

}  // namespace kubecnn::controller::testing

// The controller test harness (see controller_harness.h).
#include "tests/operator/controller/controller_harness.h"

#include <gtest/gtest.h>

#include <thread>

#include "operator/controller/names.h"
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller::testing {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const ::kubecnn::testing::ApiKind& Kind(const std::string& group, const std::string& version,
                                        const std::string& plural) {
  return *::kubecnn::testing::FindKind(group, version, plural);
}

}  // namespace

void FakeScraper::ScrapeAsync(const std::string& host, int port, Done done) {
  std::optional<api::Progress> progress;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hosts_.push_back(host + ":" + std::to_string(port));
    progress = progress_;
  }
  done(progress);
}

void FakeScraper::Set(api::Progress p) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_ = p;
}

std::vector<std::string> FakeScraper::hosts() {
  std::lock_guard<std::mutex> lock(mu_);
  return hosts_;
}

ControllerOptions FastOptions() {
  ControllerOptions o;
  o.workers = 2;
  o.planner.restart_backoff = seconds(0);
  o.planner.admission_backoff = seconds(0);
  o.planner.progress_period = seconds(1);
  o.planner.blocked_recheck = seconds(1);
  o.informer.reflector.min_watch_timeout = seconds(5);
  o.informer.reflector.backoff = {milliseconds(10), milliseconds(200), 2.0, 0.5};
  o.watch_volcano_podgroups = true;
  o.watch_scheduler_plugins_podgroups = true;
  return o;
}

std::unique_ptr<kube::Client> NewClient(const ::kubecnn::testing::FakeApiServer& server, const std::string& token) {
  kube::RestConfig rc;
  rc.bearer_token = token;
  rc.server = server.url();
  rc.qps = 0;
  rc.timeout = seconds(5);
  rc.source = "test";
  return std::make_unique<kube::Client>(rc);
}

ControllerHarness::ControllerHarness() : client_(NewClient(server_)), scraper_(std::make_shared<FakeScraper>()) {}

ControllerHarness::~ControllerHarness() { StopController(); }

void ControllerHarness::StartController(ControllerOptions options, bool workers) {
  StopController();
  controller_client_ = NewClient(server_, controller_token_);
  registry_ = std::make_unique<prometheus::Registry>();
  controller_ = std::make_unique<Controller>(*controller_client_, std::move(options), scraper_, *registry_);
  controller_->StartInformers();
  ASSERT_TRUE(controller_->WaitForSync(seconds(5)));
  if (workers) controller_->StartWorkers();
}

void ControllerHarness::StopController() {
  controller_.reset();
  registry_.reset();
  controller_client_.reset();
}

json ControllerHarness::CreateJob(api::TrainingJob job) {
  json object = api::ToJson(job);
  object.erase("status");
  object["metadata"].erase("uid");
  object["metadata"].erase("generation");
  return client_->Create(kube::resources::kTrainingJobs, "ml", object);
}

json ControllerHarness::Job(const std::string& name) {
  return server_.store().Get(Kind("kubecnn.io", "v1alpha1", "trainingjobs"), "ml", name);
}

api::TrainingJobStatus ControllerHarness::Status(const std::string& name) {
  return api::StatusFromJson(Job(name).value("status", json::object()));
}

std::map<std::string, json> ControllerHarness::Pods() {
  std::map<std::string, json> out;
  const json list = server_.store().List(Kind("", "v1", "pods"), ::kubecnn::testing::MakeFilter("ml", "", ""), 0, "");
  for (const json& pod : list["items"]) out[pod["metadata"]["name"]] = pod;
  return out;
}

std::vector<json> ControllerHarness::Events(const std::string& reason) {
  std::vector<json> out;
  const json list = server_.store().List(Kind("", "v1", "events"), ::kubecnn::testing::MakeFilter("ml", "", ""), 0, "");
  for (const json& e : list["items"]) {
    if (e.value("reason", "") == reason) out.push_back(e);
  }
  return out;
}

void ControllerHarness::Kubelet(const std::string& name, const std::function<json(json)>& set) {
  const auto& pods = Kind("", "v1", "pods");
  json pod = server_.store().Get(pods, "ml", name);
  pod = set(pod);
  pod["metadata"].erase("resourceVersion");
  server_.store().Update(pods, "ml", name, pod, /*status_subresource=*/true);
}

void ControllerHarness::WorkersReady(int n) {
  for (int i = 0; i < n; ++i) {
    Kubelet("r50-worker-" + std::to_string(i), [i](json p) { return Ready(p, "10.0.0." + std::to_string(i + 1)); });
  }
}

bool ControllerHarness::WaitFor(const std::function<bool()>& done, const std::string& what, seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (done()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  json status;
  try {
    status = Job().value("status", json());
  } catch (const std::exception& e) {
    status = e.what();
  }
  ADD_FAILURE() << "timed out waiting for " << what << "; job status: " << status.dump();
  return false;
}

bool ControllerHarness::WaitForWorkers(int n, const std::string& attempt) {
  return WaitFor(
      [&] {
        int found = 0;
        for (const auto& [name, pod] : Pods()) {
          found += name.find("-worker-") != std::string::npos && pod["metadata"]["labels"][kLabelAttempt] == attempt &&
                   !pod["metadata"].contains("deletionTimestamp");
        }
        return found == n && Pods().size() >= static_cast<size_t>(n);
      },
      std::to_string(n) + " workers of attempt " + attempt);
}

void ControllerHarness::RunToLauncher(api::TrainingJob job) {
  CreateJob(job);
  ASSERT_TRUE(WaitForWorkers(static_cast<int>(*job.spec.workers)));
  WorkersReady(static_cast<int>(*job.spec.workers));
  ASSERT_TRUE(WaitFor([&] { return Pods().count("r50-launcher") == 1; }, "the launcher"));
  Kubelet("r50-launcher", [](json p) { return Running(p); });
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Running"; }, "phase Running"));
}

int ControllerHarness::Creates(const std::string& plural) {
  int n = 0;
  for (const auto& r : server_.Requests()) {
    n += r.method == "POST" && r.status == 201 && r.path.size() >= plural.size() &&
         r.path.compare(r.path.size() - plural.size(), plural.size(), plural) == 0;
  }
  return n;
}

}  // namespace kubecnn::controller::testing

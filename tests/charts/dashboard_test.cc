// The Grafana dashboard (charts/kubecnn/dashboards/kubecnn.json) names only metrics the binaries
// really export: every kubecnn_* name in its PromQL is compared with a real scrape of a training
// kubecnn-trainer and of a kubecnn-operator talking to the API-server fixture.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/fake_apiserver.h"
#include "tests/support/http_get.h"
#include "tests/support/process.h"
#include "tests/support/test_files.h"

namespace kubecnn::testing {
namespace {

using nlohmann::json;

const std::string kDashboard = std::string(KUBECNN_SOURCE_DIR) + "/charts/kubecnn/dashboards/kubecnn.json";
const std::string kTrainer = std::string(KUBECNN_BINARY_DIR) + "/trainer/kubecnn-trainer";
const std::string kOperator = std::string(KUBECNN_BINARY_DIR) + "/operator/kubecnn-operator";

void CollectExpressions(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if ((key == "expr" || key == "query") && value.is_string()) out.push_back(value.get<std::string>());
      CollectExpressions(value, out);
    }
  } else if (node.is_array()) {
    for (const json& item : node) CollectExpressions(item, out);
  }
}

// Metric name -> type, from the "# TYPE" lines of an exposition.
std::map<std::string, std::string> Types(const std::string& exposition) {
  std::map<std::string, std::string> types;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string hash, keyword, name, type;
    words >> hash >> keyword >> name >> type;
    if (hash == "#" && keyword == "TYPE") types[name] = type;
  }
  return types;
}

// Runs `argv` until /metrics on `port` answers with `wait_for` in it; returns that scrape ("" if never).
std::string ScrapeWhileRunning(const std::vector<std::string>& argv, int port, const std::string& wait_for,
                               const std::string& log) {
  Process process(argv, log);
  const auto scrape = GetWhileRunning(process, port, "/metrics", wait_for, std::chrono::seconds(120));
  return scrape ? scrape->body : "";
}

TEST(Dashboard, EveryMetricItNamesIsExportedByTheTrainerOrTheOperator) {
  std::ifstream in(kDashboard);
  ASSERT_TRUE(in) << kDashboard;
  const json dashboard = json::parse(in);
  std::vector<std::string> expressions;
  CollectExpressions(dashboard, expressions);
  ASSERT_GE(expressions.size(), 20u);

  ScratchDir dir;
  const int trainer_port = FreePort();
  const std::string trainer =
      ScrapeWhileRunning({kTrainer, "--model=tiny", "--image_size=32", "--batch_size=4", "--num_batches=1000000",
                          "--display_every=5", "--metrics_port=" + std::to_string(trainer_port)},
                         trainer_port, "kubecnn_train_images_per_second{", dir / "trainer.log");
  ASSERT_FALSE(trainer.empty()) << ReadFile(dir / "trainer.log");

  FakeApiServer server;
  WriteFile(dir / "kubeconfig", server.Kubeconfig("token: operator", "kubecnn-system"));
  const int operator_port = FreePort();
  const std::string op = ScrapeWhileRunning(
      {kOperator, "--kubeconfig=" + dir / "kubeconfig", "--health_port=0", "--lease_duration=2", "--renew_deadline=1.5",
       "--retry_period=0.2", "--metrics_port=" + std::to_string(operator_port)},
      operator_port, "kubecnn_operator_leader 1", dir / "operator.log");
  ASSERT_FALSE(op.empty()) << ReadFile(dir / "operator.log");

  std::map<std::string, std::string> exported = Types(trainer);
  for (const auto& [name, type] : Types(op)) exported[name] = type;
  const std::regex metric(R"(kubecnn_[a-z0-9_]+)");
  std::set<std::string> named;
  for (const std::string& e : expressions) {
    for (std::sregex_iterator it(e.begin(), e.end(), metric), end; it != end; ++it) {
      std::string name = it->str();
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
          const std::string base = name.substr(0, name.size() - s.size());
          if (exported.count(base) && (exported[base] == "histogram" || exported[base] == "summary")) name = base;
        }
      }
      named.insert(name);
    }
  }
  for (const std::string& name : named) {
    EXPECT_TRUE(exported.count(name)) << name << " is in the dashboard but neither binary exports it";
  }
  // The rank label the per-rank panels group by is on the trainer's series.
  EXPECT_NE(trainer.find("kubecnn_train_images_total{rank=\"0\"}"), std::string::npos) << trainer;
  std::printf("dashboard: %zu expressions name %zu metrics, all exported (%zu exported in all)\n", expressions.size(),
              named.size(), exported.size());
}

TEST(Dashboard, HasThePanelsOperatorsLookFor) {
  std::ifstream in(kDashboard);
  const json dashboard = json::parse(in);
  std::set<std::string> titles;
  for (const json& panel : dashboard["panels"]) titles.insert(panel.value("title", ""));
  for (const char* title :
       {"Images/s, job-wide", "Images/s per rank", "Loss", "Learning rate", "Loss scale", "Step time p50 / p99",
        "Input-bound? Data wait against step time, per rank", "All-reduce time not hidden by backward, per rank",
        "Evaluation top-1 / top-5", "Checkpoint save time", "Reconcile latency p50 / p99", "Work queue depth",
        "API errors", "Gang restarts", "TrainingJobs by phase"}) {
    EXPECT_TRUE(titles.count(title)) << "no panel \"" << title << "\"";
  }
}

}  // namespace
}  // namespace kubecnn::testing

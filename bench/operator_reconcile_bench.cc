// operator_reconcile_bench: N TrainingJobs of W workers applied at once to the fake API server, with
// the real kubecnn-operator binary (a separate process) reconciling them. Prints the seconds until
// every child exists (Service, ConfigMap, Secret, W worker pods per job) and until every job has a
// status, and the operator process's RSS (current and peak, from /proc).
//   operator_reconcile_bench [--jobs=500] [--workers=4] [--qps=500] [--concurrency=4]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/test_files.h"

namespace {

using Clock = std::chrono::steady_clock;
using kubecnn::testing::FakeApiServer;
using kubecnn::testing::FindKind;

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--" + name + "=", 0) == 0) return a.substr(name.size() + 3);
  }
  return fallback;
}

// VmRSS and VmHWM of a process, in MiB.
std::pair<double, double> Rss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  double rss = 0, hwm = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024;
  }
  return {rss, hwm};
}

nlohmann::json Job(int index, int workers) {
  return {{"apiVersion", "kubecnn.io/v1alpha1"},
          {"kind", "TrainingJob"},
          {"metadata", {{"name", "bench-" + std::to_string(index)}}},
          {"spec",
           {{"image", "kubecnn/trainer:latest"},
            {"workers", workers},
            {"slotsPerWorker", 8},
            {"resources", {{"limits", {{"nvidia.com/gpu", 8}}}}},
            {"trainer", {{"model", "resnet50"}, {"batchSize", 256}, {"numBatches", 1000}}}}}};
}

}  // namespace

int main(int argc, char** argv) {
  const int jobs = std::stoi(Flag(argc, argv, "jobs", "500"));
  const int workers = std::stoi(Flag(argc, argv, "workers", "4"));
  const std::string qps = Flag(argc, argv, "qps", "500");
  const std::string concurrency = Flag(argc, argv, "concurrency", "4");
  const std::string binary = KUBECNN_BINARY_DIR "/operator/kubecnn-operator";
  if (access(binary.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "operator_reconcile_bench: %s is not built; run ninja kubecnn-operator\n", binary.c_str());
    return 1;
  }
  FakeApiServer server;
  kubecnn::testing::ScratchDir dir;
  kubecnn::testing::WriteFile(dir / "kubeconfig", server.Kubeconfig("token: bench"));
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen((dir / "operator.log").c_str(), "w", stderr)) _exit(126);
    const std::vector<std::string> args = {binary,
                                           "--kubeconfig=" + dir / "kubeconfig",
                                           "--leader_elect=false",
                                           "--health_port=0",
                                           "--metrics_port=0",
                                           "--kube_api_qps=" + qps,
                                           "--kube_api_burst=" + qps,
                                           "--concurrency=" + concurrency};
    std::vector<char*> cargv;
    for (const std::string& a : args) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(binary.c_str(), cargv.data());
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // caches synced on an empty server
  const auto idle = Rss(pid);

  kubecnn::kube::RestConfig rc;
  rc.server = server.url();
  rc.qps = 0;
  std::vector<std::thread> creators;
  const auto start = Clock::now();
  for (int t = 0; t < 4; ++t) {
    creators.emplace_back([&, t] {
      kubecnn::kube::Client client(rc);
      for (int i = t; i < jobs; i += 4)
        client.Create(kubecnn::kube::resources::kTrainingJobs, "bench", Job(i, workers));
    });
  }
  for (std::thread& t : creators) t.join();
  const double applied = std::chrono::duration<double>(Clock::now() - start).count();

  const auto& pods = *FindKind("", "v1", "pods");
  const auto& services = *FindKind("", "v1", "services");
  const auto& config_maps = *FindKind("", "v1", "configmaps");
  const auto& secrets = *FindKind("", "v1", "secrets");
  const auto& job_kind = *FindKind("kubecnn.io", "v1alpha1", "trainingjobs");
  const size_t want_pods = static_cast<size_t>(jobs) * workers;
  double children_s = -1, status_s = -1;
  double peak_during = 0;
  const auto deadline = start + std::chrono::seconds(600);
  while (Clock::now() < deadline && (children_s < 0 || status_s < 0)) {
    peak_during = std::max(peak_during, Rss(pid).first);
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    if (children_s < 0 && server.store().Count(pods) == want_pods && server.store().Count(services) == size_t(jobs) &&
        server.store().Count(config_maps) == size_t(jobs) && server.store().Count(secrets) == size_t(jobs)) {
      children_s = t;
    }
    if (status_s < 0) {
      const nlohmann::json list = server.store().List(job_kind, kubecnn::testing::MakeFilter("bench", "", ""), 0, "");
      size_t with_status = 0;
      for (const auto& item : list["items"]) with_status += item.contains("status") && item["status"].contains("phase");
      if (with_status == size_t(jobs)) status_s = t;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto after = Rss(pid);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::printf("operator_reconcile_bench: %d TrainingJobs x %d workers (%zu pods), client qps %s, %s workers\n", jobs,
              workers, want_pods, qps.c_str(), concurrency.c_str());
  std::printf("  applied all jobs in            %.2f s\n", applied);
  if (children_s < 0 || status_s < 0) {
    std::printf("  TIMED OUT: pods %zu/%zu, services %zu; see %s\n", server.store().Count(pods), want_pods,
                server.store().Count(services), (dir / "operator.log").c_str());
    return 1;
  }
  std::printf("  every child exists after       %.2f s  (%.0f objects/s)\n", children_s,
              (want_pods + 3.0 * jobs) / children_s);
  std::printf("  every job has a status after   %.2f s\n", status_s);
  std::printf("  operator RSS: idle %.1f MiB, now %.1f MiB, peak %.1f MiB (VmHWM)\n", idle.first, after.first,
              std::max(after.second, peak_during));
  return 0;
}

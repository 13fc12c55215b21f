// operator_scale_bench: the built kubecnn-operator at scale on a real control plane. For each N and
// each operator configuration (the chart's client QPS limit, and none), on a fresh control plane with
// a hollow node: N TrainingJobs created at once by a parallel client; seconds until every launcher
// exists and every job is Succeeded, API requests per job, the operator's peak RSS, reconcile
// p50/p99. The operator runs as the chart deploys it: a token of its ServiceAccount, the chart's
// ClusterRole. Then the physical limit on another fresh control plane: the same objects (the
// operator's own builders) created by a plain parallel client, the TrainingJobs as the admin and
// their children as the operator's ServiceAccount, as in the operator's run; and the operator's
// ratio against it. Prints, never asserts: it is a benchmark (bench/run_operator_scale_bench.sh).
//   operator_scale_bench [--creators=8] [--limit_threads=16] [--launcher_seconds=1]
//                        [--scheduler_qps=5000] [--concurrency=4] [--timeout_s=0] N...
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/prometheus_text.h"
#include "bench/scale_cluster.h"
#include "operator/api/defaults.h"
#include "operator/controller/builders.h"
#include "operator/controller/names.h"
#include "operator/controller/pod_builders.h"
#include "operator/kube/informer.h"
#include "tests/support/http_get.h"
#include "tests/support/process.h"

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using kubecnn::bench::ScaleCluster;

constexpr int kObjectsPerJob = 9;  // the TrainingJob, Service, ConfigMap, Secret, 4 workers, launcher
constexpr double kRssGoalMb = 100;
constexpr double kRatioGoal = 0.8;

struct BenchOptions {
  std::vector<int> jobs;
  int creators = 8;
  int limit_threads = 16;
  double launcher_seconds = 1;
  int scheduler_qps = 5000;
  int concurrency = 4;          // the chart's operator.concurrency
  bool unlimited_only = false;  // skip the run with the chart's QPS limit (the goal is measured without)
  int rounds = 1;               // limit then operator, this many times; the goal is judged on the median paired ratio
  double timeout_s = 0;         // 0: 300 s + 3 s per job
  std::string operator_binary = KUBECNN_BINARY_DIR "/operator/kubecnn-operator";
};

struct OperatorConfig {
  std::string name;
  std::string qps;
  std::string burst;
};

struct OperatorFigures {
  bool complete = false;
  std::string problem;  // why it is not complete
  double created_s = NAN, launchers_s = NAN, succeeded_s = NAN;
  int launchers = 0, succeeded = 0;
  double job_p50_s = NAN, job_p99_s = NAN, job_max_s = NAN;  // create -> Succeeded, per job
  double requests_at_success = 0;                            // when every job had Succeeded
  double requests = 0;                                       // all told, once the operator went quiet
  std::map<std::string, double> requests_by_verb;
  std::map<std::string, double> requests_by_code;  // HTTP status ("0": no response)
  double retries = 0, reconcile_errors = 0, reconciles = 0;
  double reconcile_p50_s = NAN, reconcile_p99_s = NAN;
  double rss_idle_mb = NAN, rss_peak_mb = NAN;
  kubecnn::bench::HollowNodeCounts node;
  std::map<std::string, double> writes;  // the API server's, from the first create to every launcher
  std::map<std::string, double> cpu;     // each process's CPU seconds over the same span
};

struct LimitFigures {
  int threads = 0;
  double seconds = NAN;
  std::map<std::string, double> writes;  // the API server's, from the first create to the last
  std::map<std::string, double> cpu;     // each process's CPU seconds over the same span
  int failures = 0;
  std::string first_failure;
};

std::string FlagValue(const std::string& arg, const std::string& name) {
  const std::string prefix = "--" + name + "=";
  return arg.rfind(prefix, 0) == 0 ? arg.substr(prefix.size()) : "";
}

BenchOptions ParseArgs(int argc, char** argv) {
  BenchOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    try {
      if (!FlagValue(a, "creators").empty()) {
        o.creators = std::stoi(FlagValue(a, "creators"));
      } else if (!FlagValue(a, "limit_threads").empty()) {
        o.limit_threads = std::stoi(FlagValue(a, "limit_threads"));
      } else if (!FlagValue(a, "launcher_seconds").empty()) {
        o.launcher_seconds = std::stod(FlagValue(a, "launcher_seconds"));
      } else if (!FlagValue(a, "scheduler_qps").empty()) {
        o.scheduler_qps = std::stoi(FlagValue(a, "scheduler_qps"));
      } else if (!FlagValue(a, "concurrency").empty()) {
        o.concurrency = std::stoi(FlagValue(a, "concurrency"));
      } else if (!FlagValue(a, "timeout_s").empty()) {
        o.timeout_s = std::stod(FlagValue(a, "timeout_s"));
      } else if (!FlagValue(a, "rounds").empty()) {
        o.rounds = std::stoi(FlagValue(a, "rounds"));
        if (o.rounds < 1) throw std::invalid_argument("rounds");
      } else if (a == "--unlimited_only") {
        o.unlimited_only = true;
      } else if (!FlagValue(a, "operator").empty()) {
        o.operator_binary = FlagValue(a, "operator");
      } else if (a.rfind("--", 0) != 0) {
        o.jobs.push_back(std::stoi(a));
      } else {
        throw std::invalid_argument("unknown flag");
      }
    } catch (const std::logic_error&) {
      throw std::invalid_argument("operator_scale_bench: cannot use argument \"" + a +
                                  "\" (flags: --creators --limit_threads --launcher_seconds --scheduler_qps "
                                  "--concurrency --timeout_s --unlimited_only --rounds --operator, then job counts)");
    }
  }
  if (o.jobs.empty()) o.jobs = {100, 1000};
  return o;
}

double Since(SteadyClock::time_point start, SteadyClock::time_point t = SteadyClock::now()) {
  return std::chrono::duration<double>(t - start).count();
}

// A line of /proc/PID/status ("VmHWM", "VmRSS") in MB (10^6 bytes); NaN when unreadable.
double ProcStatusMb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) * 1024 / 1e6;
  }
  return NAN;
}

// CPU seconds (user + system) a process has used so far, from /proc/PID/stat; NaN when unreadable.
double CpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t name_end = stat.rfind(')');  // the command's name may hold spaces and parentheses
  if (name_end == std::string::npos) return NAN;
  std::istringstream fields(stat.substr(name_end + 1));
  std::vector<std::string> f;  // f[0] is field 3 (state): utime is field 14, stime 15
  for (std::string field; fields >> field;) f.push_back(field);
  if (f.size() < 13) return NAN;
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size()))) - 1;
  return values[std::min(i, values.size() - 1)];
}

std::vector<std::string> SchedulerFlags(const BenchOptions& o) {
  return {"--kube-api-qps=" + std::to_string(o.scheduler_qps),
          "--kube-api-burst=" + std::to_string(2 * o.scheduler_qps)};
}

kubecnn::bench::ScaleClusterOptions ClusterOptions(const BenchOptions& o) {
  kubecnn::bench::ScaleClusterOptions c;
  c.source_dir = KUBECNN_SOURCE_DIR;
  c.scheduler_flags = SchedulerFlags(o);
  c.node.launcher_runs_for = std::chrono::milliseconds(static_cast<int64_t>(o.launcher_seconds * 1000));
  return c;
}

using Clients = std::vector<std::unique_ptr<kubecnn::kube::Client>>;

// `threads` clients from `make`, each with its connection made and `resource`'s storage touched by
// one list, so that neither run's clock counts a TLS handshake or the API server's first request
// for a resource.
Clients WarmClients(const std::function<std::unique_ptr<kubecnn::kube::Client>()>& make, int threads,
                    const kubecnn::kube::Resource& resource) {
  Clients clients;
  for (int t = 0; t < threads; ++t) {
    clients.push_back(make());
    kubecnn::kube::ListOptions one;
    one.limit = 1;
    clients.back()->List(resource, kubecnn::bench::kBenchNamespace, one);
  }
  return clients;
}

// Creates jobs 0..n-1 from `threads` threads; `on_job(thread, index)` creates what one job is.
// Returns the failures (the first one's message in `first`).
int CreateInParallel(size_t threads, int n, const std::function<void(size_t, int)>& on_job, std::string* first) {
  std::atomic<int> next{0}, failures{0};
  std::mutex first_mu;
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = next++; i < n; i = next++) {
        try {
          on_job(t, i);
        } catch (const std::exception& e) {
          if (failures++ == 0) {
            std::lock_guard<std::mutex> lock(first_mu);
            *first = "job " + std::to_string(i) + ": " + e.what();
          }
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return failures;
}

// The API server's writes so far (POST, PUT, PATCH, DELETE), by resource[/subresource], from its
// own apiserver_request_total: what every client sent, the scheduler's bindings, the node's pod
// statuses and the controller manager's Endpoints included, not only the operator's.
std::map<std::string, double> ApiServerWrites(ScaleCluster& cluster) {
  const kubecnn::testing::CommandOutcome out = cluster.plane().Kubectl("get --raw /metrics");
  if (out.exit_code != 0) throw std::runtime_error("kubectl get --raw /metrics: " + out.output);
  std::map<std::string, double> writes;
  for (const kubecnn::bench::Sample& s : kubecnn::bench::ParsePrometheusText(out.output)) {
    if (s.name != "apiserver_request_total") continue;
    const auto label = [&](const char* name) {
      const auto it = s.labels.find(name);
      return it == s.labels.end() ? std::string() : it->second;
    };
    const std::string verb = label("verb");
    if (verb != "POST" && verb != "PUT" && verb != "PATCH" && verb != "DELETE" && verb != "APPLY") continue;
    const std::string subresource = label("subresource");
    writes[label("resource") + (subresource.empty() ? "" : "/" + subresource)] += s.value;
  }
  return writes;
}

// CPU seconds so far of each process on the 2 cores: the control plane's, this process's (the
// creating clients, the hollow node, the watches) and the operator's when there is one.
std::map<std::string, double> CpuByProcess(ScaleCluster& cluster, pid_t operator_pid = 0) {
  static const char* const kComponents[] = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"};
  std::map<std::string, double> cpu;
  const std::vector<pid_t> pids = cluster.plane().pids();
  for (size_t i = 0; i < pids.size() && i < std::size(kComponents); ++i) {
    cpu[kComponents[i]] = CpuSeconds(std::to_string(pids[i]));
  }
  cpu["bench: clients, hollow node"] = CpuSeconds("self");
  if (operator_pid > 0) cpu["kubecnn-operator"] = CpuSeconds(std::to_string(operator_pid));
  return cpu;
}

std::map<std::string, double> Minus(std::map<std::string, double> after, const std::map<std::string, double>& before) {
  for (const auto& [what, count] : before) after[what] -= count;
  return after;
}

// The physical limit: a TrainingJob and the children the operator would make for it, from the
// operator's builders (one SSH key pair for all: key generation is not the API server's work).
LimitFigures MeasureLimit(int n, const BenchOptions& o) {
  ScaleCluster cluster(ClusterOptions(o));
  const kubecnn::controller::SshKeyPair keys = kubecnn::controller::GenerateSshKeyPair();
  namespace kr = kubecnn::kube::resources;
  const std::string ns = kubecnn::bench::kBenchNamespace;
  LimitFigures f;
  f.threads = o.limit_threads;
  Clients users = WarmClients([&] { return cluster.AdminClient(); }, o.limit_threads, kr::kTrainingJobs);
  Clients operators = WarmClients([&] { return cluster.OperatorClient(); }, o.limit_threads, kr::kPods);
  const std::map<std::string, double> writes_before = ApiServerWrites(cluster);
  const std::map<std::string, double> cpu_before = CpuByProcess(cluster);
  const auto start = SteadyClock::now();
  f.failures = CreateInParallel(
      operators.size(), n,
      [&](size_t t, int i) {
        const json created = users[t]->Create(kr::kTrainingJobs, ns, kubecnn::bench::BenchJob(i));
        kubecnn::kube::Client& client = *operators[t];
        const kubecnn::api::DefaultedJob job = kubecnn::api::Defaulted(kubecnn::api::TrainingJobFromJson(created));
        client.Create(kr::kServices, ns, kubecnn::controller::HeadlessService(job));
        client.Create(kr::kConfigMaps, ns, kubecnn::controller::HostfileConfigMap(job));
        client.Create(kr::kSecrets, ns, kubecnn::controller::SshSecret(job, keys));
        for (int64_t w = 0; w < job.spec.workers; ++w) {
          client.Create(kr::kPods, ns, kubecnn::controller::WorkerPod(job, w, 0));
        }
        client.Create(kr::kPods, ns, kubecnn::controller::LauncherPod(job, kubecnn::controller::kStageTrain, 0));
      },
      &f.first_failure);
  f.seconds = Since(start);
  f.cpu = Minus(CpuByProcess(cluster), cpu_before);
  f.writes = Minus(ApiServerWrites(cluster), writes_before);
  return f;
}

// When each job's launcher was first seen and when it was first Succeeded, from informers.
class JobWatch {
 public:
  explicit JobWatch(kubecnn::kube::Client& client) {
    kubecnn::kube::InformerOptions jobs_options;
    jobs_options.reflector.ns = kubecnn::bench::kBenchNamespace;
    jobs_ = std::make_unique<kubecnn::kube::Informer>(client, kubecnn::kube::resources::kTrainingJobs, jobs_options);
    const auto on_job = [this](const json& job) {
      if (job.value("status", json::object()).value("phase", "") != "Succeeded") return;
      std::lock_guard<std::mutex> lock(mu_);
      succeeded_.try_emplace(job["metadata"].value("name", ""), SteadyClock::now());
    };
    jobs_->AddHandlers({on_job, [on_job](const json&, const json& job) { on_job(job); }, nullptr});
    kubecnn::kube::InformerOptions pods_options = jobs_options;
    pods_options.reflector.label_selector =
        std::string(kubecnn::controller::kLabelRole) + "=" + kubecnn::controller::kRoleLauncher;
    launchers_ = std::make_unique<kubecnn::kube::Informer>(client, kubecnn::kube::resources::kPods, pods_options);
    launchers_->AddHandlers({[this](const json& pod) {
                               const json labels = pod["metadata"].value("labels", json::object());
                               std::lock_guard<std::mutex> lock(mu_);
                               launched_.try_emplace(labels.value(kubecnn::controller::kLabelJobName, ""),
                                                     SteadyClock::now());
                             },
                             nullptr, nullptr});
    jobs_->Start();
    launchers_->Start();
    if (!jobs_->WaitForSync(std::chrono::seconds(30)) || !launchers_->WaitForSync(std::chrono::seconds(30))) {
      throw std::runtime_error("the benchmark's own watches of TrainingJobs and launcher pods did not sync in 30 s");
    }
  }
  ~JobWatch() {
    launchers_->Stop();
    jobs_->Stop();
  }
  std::pair<int, int> Counts() {
    std::lock_guard<std::mutex> lock(mu_);
    return {static_cast<int>(launched_.size()), static_cast<int>(succeeded_.size())};
  }
  std::map<std::string, SteadyClock::time_point> launched() {
    std::lock_guard<std::mutex> lock(mu_);
    return launched_;
  }
  std::map<std::string, SteadyClock::time_point> succeeded() {
    std::lock_guard<std::mutex> lock(mu_);
    return succeeded_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, SteadyClock::time_point> launched_, succeeded_;  // by job name
  std::unique_ptr<kubecnn::kube::Informer> jobs_, launchers_;
};

std::string LogTail(const kubecnn::testing::Process& process) {
  const std::string out = process.output();
  return out.size() > 3000 ? "..." + out.substr(out.size() - 3000) : out;
}

void ReadMetrics(const std::string& text, OperatorFigures& f) {
  const std::vector<kubecnn::bench::Sample> samples = kubecnn::bench::ParsePrometheusText(text);
  f.requests = kubecnn::bench::SumOf(samples, "kubecnn_operator_api_requests_total");
  f.requests_by_verb = kubecnn::bench::SumBy(samples, "kubecnn_operator_api_requests_total", "verb");
  f.requests_by_code = kubecnn::bench::SumBy(samples, "kubecnn_operator_api_requests_total", "code");
  f.retries = kubecnn::bench::SumOf(samples, "kubecnn_operator_api_retries_total");
  f.reconcile_errors = kubecnn::bench::SumOf(samples, "kubecnn_operator_reconcile_errors_total");
  f.reconciles = kubecnn::bench::SumOf(samples, "kubecnn_operator_reconcile_duration_seconds_count");
  f.reconcile_p50_s = kubecnn::bench::HistogramQuantile(samples, "kubecnn_operator_reconcile_duration_seconds", 0.5);
  f.reconcile_p99_s = kubecnn::bench::HistogramQuantile(samples, "kubecnn_operator_reconcile_duration_seconds", 0.99);
}

OperatorFigures MeasureOperator(int n, const OperatorConfig& config, const BenchOptions& o) {
  ScaleCluster cluster(ClusterOptions(o));
  const int metrics_port = kubecnn::testing::FreePort();
  const int health_port = kubecnn::testing::FreePort();
  // Progress: rank 0's metrics are scraped (asynchronously, 2 s timeout) while a launcher runs,
  // at most every --progress_period (the chart's 15 s); the hollow pods' 10.244.x.y addresses are
  // not on this machine, so each scrape fails and the job simply shows no progress.
  kubecnn::testing::Process op(
      {o.operator_binary, "--kubeconfig=" + cluster.operator_kubeconfig(), "--leader_elect=false",
       "--metrics_port=" + std::to_string(metrics_port), "--health_port=" + std::to_string(health_port),
       "--kube_api_qps=" + config.qps, "--kube_api_burst=" + config.burst,
       "--concurrency=" + std::to_string(o.concurrency), "--progress_period=15"},
      cluster.plane().dir() + "/operator.log", {}, {.die_with_parent = true});
  if (!kubecnn::testing::GetWhileRunning(op, health_port, "/readyz", "", std::chrono::seconds(60))) {
    throw std::runtime_error("kubecnn-operator did not answer /readyz within 60 s:\n" + LogTail(op));
  }
  const std::unique_ptr<kubecnn::kube::Client> watch_client = cluster.AdminClient();
  JobWatch watch(*watch_client);
  OperatorFigures f;
  f.rss_idle_mb = ProcStatusMb(op.pid(), "VmRSS");

  std::vector<SteadyClock::time_point> create_started(static_cast<size_t>(n));
  Clients clients =
      WarmClients([&] { return cluster.AdminClient(); }, o.creators, kubecnn::kube::resources::kTrainingJobs);
  const std::map<std::string, double> writes_before = ApiServerWrites(cluster);
  const std::map<std::string, double> cpu_before = CpuByProcess(cluster, op.pid());
  const auto start = SteadyClock::now();
  std::string first_failure;
  const int failures = CreateInParallel(
      clients.size(), n,
      [&](size_t t, int i) {
        create_started[static_cast<size_t>(i)] = SteadyClock::now();
        clients[t]->Create(kubecnn::kube::resources::kTrainingJobs, kubecnn::bench::kBenchNamespace,
                           kubecnn::bench::BenchJob(i));
      },
      &first_failure);
  f.created_s = Since(start);
  if (failures > 0) f.problem = std::to_string(failures) + " creates failed, first: " + first_failure + "; ";

  const double timeout = o.timeout_s > 0 ? o.timeout_s : 300 + 3.0 * n;
  auto next_report = start + std::chrono::seconds(30);
  for (;;) {
    const auto [launched, succeeded] = watch.Counts();
    if (launched >= n && f.launchers < n) {
      f.cpu = Minus(CpuByProcess(cluster, op.pid()), cpu_before);
      f.writes = Minus(ApiServerWrites(cluster), writes_before);
    }
    f.launchers = launched;
    f.succeeded = succeeded;
    if (launched >= n && succeeded >= n) break;
    if (op.Wait(std::chrono::milliseconds(0))) {
      f.problem += "kubecnn-operator exited:\n" + LogTail(op);
      break;
    }
    if (Since(start) > timeout) {
      f.problem += "timed out after " + std::to_string(static_cast<int>(timeout)) + " s";
      break;
    }
    if (SteadyClock::now() >= next_report) {
      std::fprintf(stderr, "    %4.0f s: %d/%d launchers, %d/%d Succeeded\n", Since(start), launched, n, succeeded, n);
      next_report += std::chrono::seconds(30);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  f.complete = f.launchers >= n && f.succeeded >= n && failures == 0;
  const auto launched = watch.launched();
  const auto succeeded = watch.succeeded();
  double last_launch = 0, last_success = 0;
  for (const auto& [name, t] : launched) last_launch = std::max(last_launch, Since(start, t));
  std::vector<double> latencies;
  for (const auto& [name, t] : succeeded) {
    last_success = std::max(last_success, Since(start, t));
    const int index = std::stoi(name.substr(name.rfind('-') + 1));
    latencies.push_back(Since(create_started[static_cast<size_t>(index)], t));
  }
  if (f.launchers >= n) f.launchers_s = last_launch;
  if (f.succeeded >= n) f.succeeded_s = last_success;
  f.job_p50_s = Percentile(latencies, 0.5);
  f.job_p99_s = Percentile(latencies, 0.99);
  f.job_max_s = Percentile(latencies, 1.0);

  // Requests until every job Succeeded, then all told: once the operator has sent none for 3 s
  // (the workers' deletion after success, cleanPodPolicy Running), at most 60 s later.
  try {
    std::string text = kubecnn::testing::HttpGet(metrics_port, "/metrics").body;
    ReadMetrics(text, f);
    f.requests_at_success = f.requests;
    const auto settle_deadline = SteadyClock::now() + std::chrono::seconds(60);
    for (double last = f.requests; f.complete && SteadyClock::now() < settle_deadline;) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      text = kubecnn::testing::HttpGet(metrics_port, "/metrics").body;
      ReadMetrics(text, f);
      if (f.requests == last) break;
      last = f.requests;
    }
  } catch (const std::exception& e) {
    f.problem += std::string("; reading the operator's /metrics: ") + e.what();
  }
  f.rss_peak_mb = ProcStatusMb(op.pid(), "VmHWM");
  f.node = cluster.node().counts();
  const int exit_code = op.Stop(std::chrono::seconds(10));
  if (exit_code != 0 && exit_code != 128 + SIGTERM) {
    f.problem += "; kubecnn-operator exited with " + std::to_string(exit_code) + " on SIGTERM:\n" + LogTail(op);
  }
  return f;
}

std::string Fixed(double v, int decimals) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return "+Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Ms(double seconds) {
  if (std::isinf(seconds)) return "> 10000";  // the histogram's top bucket is 10 s
  return Fixed(seconds * 1000, 1);
}

void PrintRun(int n, const std::vector<OperatorConfig>& configs, const std::vector<OperatorFigures>& figures,
              const LimitFigures& limit) {
  std::printf("\n== N = %d TrainingJobs (4 workers x 1 slot + 1 launcher each: %d pods, %d objects) ==\n", n, 5 * n,
              kObjectsPerJob * n);
  std::printf("%-34s", "");
  for (const OperatorConfig& c : configs) std::printf(" %22s", c.name.c_str());
  std::printf("\n");
  const auto row = [&](const char* label, const std::function<std::string(const OperatorFigures&)>& cell) {
    std::printf("%-34s", label);
    for (const OperatorFigures& f : figures) std::printf(" %22s", cell(f).c_str());
    std::printf("\n");
  };
  const double dn = n;
  row("all jobs created (s)", [](const auto& f) { return Fixed(f.created_s, 1); });
  row("every launcher exists (s)", [](const auto& f) { return Fixed(f.launchers_s, 1); });
  row("every job Succeeded (s)", [](const auto& f) { return Fixed(f.succeeded_s, 1); });
  row("job create->Succeeded p50/p99/max",
      [](const auto& f) { return Fixed(f.job_p50_s, 1) + "/" + Fixed(f.job_p99_s, 1) + "/" + Fixed(f.job_max_s, 1); });
  row("API requests/job: at Succeeded", [&](const auto& f) { return Fixed(f.requests_at_success / dn, 1); });
  row("API requests/job: all told", [&](const auto& f) { return Fixed(f.requests / dn, 1); });
  std::set<std::string> verbs;
  for (const OperatorFigures& f : figures) {
    for (const auto& [verb, count] : f.requests_by_verb) verbs.insert(verb);
  }
  for (const std::string& verb : verbs) {
    const std::string label = "  " + verb + "/job, all told";
    row(label.c_str(), [&](const auto& f) {
      auto it = f.requests_by_verb.find(verb);
      return Fixed(it == f.requests_by_verb.end() ? 0 : it->second / dn, 2);
    });
  }
  row("answers not 2xx (code:count)", [](const auto& f) {
    std::string cell;
    for (const auto& [code, count] : f.requests_by_code) {
      if (code.size() == 3 && code[0] == '2') continue;
      cell += (cell.empty() ? "" : " ") + code + ":" + Fixed(count, 0);
    }
    return cell.empty() ? std::string("none") : cell;
  });
  row("API retries (total)", [](const auto& f) { return Fixed(f.retries, 0); });
  row("reconciles per job", [&](const auto& f) { return Fixed(f.reconciles / dn, 1); });
  row("reconcile errors (total)", [](const auto& f) { return Fixed(f.reconcile_errors, 0); });
  row("reconcile p50 / p99 (ms)", [](const auto& f) { return Ms(f.reconcile_p50_s) + " / " + Ms(f.reconcile_p99_s); });
  row("operator RSS idle / peak (MB)",
      [](const auto& f) { return Fixed(f.rss_idle_mb, 1) + " / " + Fixed(f.rss_peak_mb, 1); });
  row("hollow node: Running/Succ./deleted", [](const auto& f) {
    return std::to_string(f.node.started) + "/" + std::to_string(f.node.succeeded) + "/" +
           std::to_string(f.node.deleted);
  });
  const double limit_rate = kObjectsPerJob * dn / limit.seconds;
  std::printf("limit: a plain client of %d threads creates the same %d objects in %.1f s: %.0f objects/s%s\n",
              limit.threads, kObjectsPerJob * n, limit.seconds, limit_rate,
              limit.failures
                  ? (" (" + std::to_string(limit.failures) + " jobs failed: " + limit.first_failure + ")").c_str()
                  : "");
  row("objects/s until every launcher", [&](const auto& f) { return Fixed(kObjectsPerJob * dn / f.launchers_s, 0); });
  row("ratio to the limit (launchers)", [&](const auto& f) { return Fixed(limit.seconds / f.launchers_s, 2) + "x"; });
  row("ratio to the limit (Succeeded)", [&](const auto& f) { return Fixed(limit.seconds / f.succeeded_s, 2) + "x"; });
  // What the API server itself took until each mark, every client's writes together: where the
  // time goes when its cores are the limit.
  std::printf("API server writes per job, until the limit's last create | until every launcher:\n");
  std::set<std::string> resources;
  for (const auto& [what, count] : limit.writes) resources.insert(what);
  for (const OperatorFigures& f : figures) {
    for (const auto& [what, count] : f.writes) resources.insert(what);
  }
  const auto per_job = [&](const std::map<std::string, double>& writes, const std::string& what) {
    const auto it = writes.find(what);
    return it == writes.end() ? 0.0 : it->second / dn;
  };
  const auto total = [&](const std::map<std::string, double>& writes) {
    double sum = 0;
    for (const auto& [what, count] : writes) sum += count;
    return sum;
  };
  for (const std::string& what : resources) {
    if (per_job(limit.writes, what) < 0.005 &&
        std::all_of(figures.begin(), figures.end(), [&](const auto& f) { return per_job(f.writes, what) < 0.005; })) {
      continue;
    }
    const std::string label = "  " + what + " (limit " + Fixed(per_job(limit.writes, what), 2) + ")";
    row(label.c_str(), [&](const auto& f) { return Fixed(per_job(f.writes, what), 2); });
  }
  const std::string all = "  all (limit " + Fixed(total(limit.writes) / dn, 1) + ", " +
                          Fixed(total(limit.writes) / limit.seconds, 0) + "/s)";
  row(all.c_str(), [&](const auto& f) {
    return Fixed(total(f.writes) / dn, 1) + ", " + Fixed(total(f.writes) / f.launchers_s, 0) + "/s";
  });
  // Where the cores went over the same spans: what the operator's run spent beyond the limit's.
  std::printf("CPU seconds, until the limit's last create | until every launcher (%ld cores):\n",
              sysconf(_SC_NPROCESSORS_ONLN));
  std::set<std::string> processes;
  for (const auto& [name, seconds] : limit.cpu) processes.insert(name);
  for (const OperatorFigures& f : figures) {
    for (const auto& [name, seconds] : f.cpu) processes.insert(name);
  }
  const auto cpu_of = [](const std::map<std::string, double>& cpu, const std::string& name) {
    const auto it = cpu.find(name);
    return it == cpu.end() ? 0.0 : it->second;
  };
  for (const std::string& name : processes) {
    const std::string label = "  " + name + " (limit " + Fixed(cpu_of(limit.cpu, name), 1) + ")";
    row(label.c_str(), [&](const auto& f) { return Fixed(cpu_of(f.cpu, name), 1); });
  }
  const std::string cpu_all = "  all (limit " + Fixed(total(limit.cpu), 1) + " in " + Fixed(limit.seconds, 1) + " s)";
  row(cpu_all.c_str(), [&](const auto& f) { return Fixed(total(f.cpu), 1) + " in " + Fixed(f.launchers_s, 1) + " s"; });
  for (size_t i = 0; i < figures.size(); ++i) {
    if (!figures[i].complete || !figures[i].problem.empty()) {
      std::printf("INCOMPLETE %s: %d/%d launchers, %d/%d Succeeded; %s\n", configs[i].name.c_str(),
                  figures[i].launchers, n, figures[i].succeeded, n, figures[i].problem.c_str());
    }
  }
  // The goals, for the configuration without a client-side limit.
  const OperatorFigures& off = figures.back();
  const double ratio = limit.seconds / off.launchers_s;
  std::printf("goal, %s: >= %.1fx of the limit: %s\n", configs.back().name.c_str(), kRatioGoal,
              std::isnan(ratio) ? "not measured"
              : ratio >= kRatioGoal
                  ? ("met (" + Fixed(ratio, 2) + "x)").c_str()
                  : ("MISSED by " + Fixed(kRatioGoal - ratio, 2) + "x (" + Fixed(ratio, 2) + "x: the operator needs " +
                     Fixed(off.launchers_s / limit.seconds, 1) + " times the limit's time)")
                        .c_str());
  for (size_t i = 0; i < figures.size(); ++i) {
    const double rss = figures[i].rss_peak_mb;
    std::printf("goal, %s: peak RSS <= %.0f MB (at 1,000 jobs): %s\n", configs[i].name.c_str(), kRssGoalMb,
                std::isnan(rss)     ? "not measured"
                : rss <= kRssGoalMb ? ("within (" + Fixed(rss, 1) + " MB)").c_str()
                                    : ("OVER by " + Fixed(rss - kRssGoalMb, 1) + " MB").c_str());
    std::printf("goal, %s: no reconcile starves: p99 %s ms, slowest job %s s against a median of %s s\n",
                configs[i].name.c_str(), Ms(figures[i].reconcile_p99_s).c_str(), Fixed(figures[i].job_max_s, 1).c_str(),
                Fixed(figures[i].job_p50_s, 1).c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions o;
  try {
    o = ParseArgs(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  if (access(o.operator_binary.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "operator_scale_bench: %s is not built (ninja -C <build dir> kubecnn-operator)\n",
                 o.operator_binary.c_str());
    return 1;
  }
  const std::string assets = kubecnn::testing::ControlPlane::AssetsProblem();
  if (!assets.empty()) {
    std::fprintf(stderr, "operator_scale_bench: %s\n", assets.c_str());
    return 1;
  }
  std::vector<OperatorConfig> configs = {{"chart: qps 50, burst 100", "50", "100"}, {"limits off: qps 0", "0", "100"}};
  if (o.unlimited_only) configs.erase(configs.begin());
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::string scheduler;
  for (const std::string& flag : SchedulerFlags(o)) scheduler += " " + flag;
  std::printf(
      "operator_scale_bench: %s on %ld CPUs (load %.2f); each run on a fresh control plane "
      "(Kubernetes v1.26: etcd, kube-apiserver, kube-controller-manager with its default 20 qps, "
      "kube-scheduler with%s), one hollow node (pods 10000, no client-side limit, %.1f s launchers); "
      "operator --concurrency=%d as the chart's ServiceAccount (a token, the chart's ClusterRole); jobs created by %d "
      "threads as the admin; the limit by %d (TrainingJobs as the admin, their children as the operator's "
      "ServiceAccount)\n",
      o.operator_binary.c_str(), sysconf(_SC_NPROCESSORS_ONLN), load[0], scheduler.c_str(), o.launcher_seconds,
      o.concurrency, o.creators, o.limit_threads);
  std::fflush(stdout);
  int status = 0;
  for (const int n : o.jobs) {
    try {
      std::vector<double> ratios;  // the rounds' limit / launchers, without a QPS limit
      for (int round = 1; round <= o.rounds; ++round) {
        std::fprintf(stderr, "N=%d, round %d of %d: the limit (plain client)...\n", n, round, o.rounds);
        const LimitFigures limit = MeasureLimit(n, o);
        std::fprintf(stderr, "  %.1f s for %d objects\n", limit.seconds, kObjectsPerJob * n);
        std::vector<OperatorFigures> figures;
        for (const OperatorConfig& config : configs) {
          std::fprintf(stderr, "N=%d: the operator, %s...\n", n, config.name.c_str());
          figures.push_back(MeasureOperator(n, config, o));
          const OperatorFigures& f = figures.back();
          std::fprintf(stderr, "  launchers %.1f s, Succeeded %.1f s, %.1f requests/job, peak RSS %.1f MB%s%s\n",
                       f.launchers_s, f.succeeded_s, f.requests / n, f.rss_peak_mb, f.problem.empty() ? "" : "; ",
                       f.problem.c_str());
        }
        PrintRun(n, configs, figures, limit);
        ratios.push_back(limit.seconds / figures.back().launchers_s);
      }
      if (ratios.size() > 1) {
        std::string each;
        for (const double r : ratios) each += (each.empty() ? "" : " / ") + Fixed(r, 2);
        std::vector<double> sorted = ratios;
        std::sort(sorted.begin(), sorted.end());
        const size_t mid = sorted.size() / 2;
        const double median = sorted.size() % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        std::printf("\nN = %d, %s: the rounds' ratios to the limit (launchers) %s: median %sx; goal >= %.1fx %s\n", n,
                    configs.back().name.c_str(), each.c_str(), Fixed(median, 2).c_str(), kRatioGoal,
                    median >= kRatioGoal ? "met" : "MISSED");
        std::fflush(stdout);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "operator_scale_bench: N=%d: %s\n", n, e.what());
      status = 1;
    }
  }
  return status;
}

// kubecnn-operator: connects to the API server, serves /healthz, /readyz and /metrics, keeps the
// TrainingJob controller's caches warm on every replica, and reconciles while it holds the
// leader-election Lease.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "operator/controller/controller.h"
#include "operator/controller/http_scraper.h"
#include "operator/kube/client.h"
#include "operator/kube/health_server.h"
#include "operator/kube/leader_election.h"
#include "trainer/common/flags.h"
#include "trainer/common/log.h"
#include "trainer/common/metrics_server.h"

namespace {

using kubecnn::LogError;
using kubecnn::LogInfo;

const char* kUsage =
    "usage: kubecnn-operator [flags]\n"
    "Runs TrainingJobs as MPI gangs of pods; serves /healthz, /readyz and /metrics. Flags take --name=value,\n"
    "--name value, --flag and --noflag, as kubecnn-trainer's do.";

// The operator's flags, typed; the defaults are the chart's.
struct Flags {
  std::string kubeconfig;
  std::string context;
  std::string ns;
  bool leader_elect = true;
  std::string lease_name = "kubecnn-operator";
  std::string identity;
  double lease_duration = 15;
  double renew_deadline = 10;
  double retry_period = 2;
  int health_port = 8081;
  double api_unreachable_after = 120;
  int metrics_port = 8080;
  std::string watch_namespace;
  int concurrency = 4;
  double kube_api_qps = 50;
  int kube_api_burst = 100;
  std::string gang_schedulers;
  int restart_backoff = 10;  // the planner counts these three in whole seconds
  int admission_backoff = 30;
  int progress_period = 15;
  bool allow_pod_template_service_account = false;
  bool network_policies = false;
  std::string network_policy_operator_from;  // JSON lists of NetworkPolicyPeers
  std::string network_policy_metrics_from;
};

void AddFlags(kubecnn::FlagSet& s, Flags& f) {
  s.Add("kubeconfig", &f.kubeconfig,
        "kubeconfig file (empty: $KUBECONFIG, then the in-cluster service account, then ~/.kube/config)");
  s.Add("context", &f.context, "kubeconfig context (empty: current-context)");
  s.Add("namespace", &f.ns, "namespace of the leader-election Lease (empty: the config's namespace)");
  s.Add("leader_elect", &f.leader_elect, "take part in leader election (1/t/true/yes or 0/f/false/no)");
  s.Add("lease_name", &f.lease_name, "leader-election Lease name");
  s.Add("identity", &f.identity, "this replica's identity (empty: hostname + random suffix)");
  s.Add("lease_duration", &f.lease_duration, "seconds a Lease is valid without renewal");
  s.Add("renew_deadline", &f.renew_deadline, "seconds the leader keeps trying to renew before it gives up");
  s.Add("retry_period", &f.retry_period, "seconds between leader-election attempts");
  s.Add("health_port", &f.health_port, "port of /healthz and /readyz (0: a free one)");
  s.Add("api_unreachable_after", &f.api_unreachable_after,
        "seconds without an answer from the API server after which /readyz fails (the Lease is renewed and "
        "watches get bookmarks far more often)");
  s.Add("metrics_port", &f.metrics_port, "port of Prometheus /metrics (0: a free one)");
  s.Add("watch_namespace", &f.watch_namespace, "namespace of the TrainingJobs to run (empty: all namespaces)");
  s.Add("concurrency", &f.concurrency, "TrainingJobs reconciled in parallel");
  s.Add("kube_api_qps", &f.kube_api_qps, "client-side API rate limit in requests/s (0: none)");
  s.Add("kube_api_burst", &f.kube_api_burst, "client-side API burst");
  s.Add("gang_schedulers", &f.gang_schedulers,
        "PodGroup kinds to watch: volcano, scheduler-plugins (comma-separated; empty: PodGroups are read with GETs)");
  s.Add("restart_backoff", &f.restart_backoff,
        "whole seconds of the first back-off before a failed gang is re-created (doubling to 300)");
  s.Add("admission_backoff", &f.admission_backoff,
        "whole seconds of the first back-off after a gang did not fit in scheduleTimeoutSeconds");
  s.Add("progress_period", &f.progress_period, "whole seconds between reads of rank 0's metrics into status.progress");
  s.Add("allow_pod_template_service_account", &f.allow_pod_template_service_account,
        "let spec.podTemplate.spec.serviceAccountName choose the pods' ServiceAccount (whoever may create "
        "TrainingJobs then acts as any ServiceAccount of the namespace)");
  s.Add("network_policies", &f.network_policies,
        "give each TrainingJob NetworkPolicies: workers accept only their own gang (and the metrics ports from "
        "the peers below), the launcher only its workers; pods wait for them (needs a CNI that enforces them)");
  s.Add("network_policy_operator_from", &f.network_policy_operator_from,
        "JSON list of NetworkPolicyPeers selecting this operator's pods, which read rank 0's metrics (the chart "
        "fills it in; empty: status.progress stays empty under --network_policies)");
  s.Add("network_policy_metrics_from", &f.network_policy_metrics_from,
        "JSON list of NetworkPolicyPeers (e.g. Prometheus' namespace) that may scrape the workers' metrics ports");
}

// Ranges the parser cannot know; a UsageError names the flag and its value.
void Validate(const Flags& f) {
  const auto require = [](bool ok, const std::string& flag, const std::string& value, const std::string& what) {
    if (!ok) throw kubecnn::UsageError("--" + flag + "=" + value + " is not " + what);
  };
  const auto number = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  for (const auto& [name, port] : {std::pair{"health_port", f.health_port}, {"metrics_port", f.metrics_port}}) {
    require(port >= 0 && port <= 65535, name, std::to_string(port), "a port number (0-65535; 0 picks a free one)");
  }
  for (const auto& [name, seconds] : {std::pair{"lease_duration", f.lease_duration},
                                      {"renew_deadline", f.renew_deadline},
                                      {"retry_period", f.retry_period},
                                      {"api_unreachable_after", f.api_unreachable_after}}) {
    require(seconds >= 0, name, number(seconds), "a number of seconds >= 0");
  }
  for (const auto& [name, seconds] : {std::pair{"restart_backoff", f.restart_backoff},
                                      {"admission_backoff", f.admission_backoff},
                                      {"progress_period", f.progress_period}}) {
    require(seconds >= 0, name, std::to_string(seconds), "a whole number of seconds >= 0");
  }
  require(f.concurrency >= 1, "concurrency", std::to_string(f.concurrency), "at least 1");
  require(f.kube_api_qps >= 0, "kube_api_qps", number(f.kube_api_qps), "a number >= 0 (0 turns the limit off)");
  require(f.kube_api_burst >= 0, "kube_api_burst", std::to_string(f.kube_api_burst), "a non-negative integer");
}

std::chrono::milliseconds Milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

kubecnn::controller::ControllerOptions ControllerOptionsFrom(const Flags& f) {
  kubecnn::controller::ControllerOptions o;
  o.ns = f.watch_namespace;
  o.workers = f.concurrency;
  o.planner.restart_backoff = std::chrono::seconds(f.restart_backoff);
  o.planner.admission_backoff = std::chrono::seconds(f.admission_backoff);
  o.planner.progress_period = std::chrono::seconds(f.progress_period);
  o.planner.pod_template.allow_service_account = f.allow_pod_template_service_account;
  o.planner.network_policy.enabled = f.network_policies;
  try {
    o.planner.network_policy.operator_from =
        kubecnn::controller::ParseNetworkPolicyPeers("network_policy_operator_from", f.network_policy_operator_from);
    o.planner.network_policy.metrics_from =
        kubecnn::controller::ParseNetworkPolicyPeers("network_policy_metrics_from", f.network_policy_metrics_from);
  } catch (const std::invalid_argument& e) {
    throw kubecnn::UsageError(e.what());
  }
  if (f.network_policies && o.planner.network_policy.operator_from.empty()) {
    kubecnn::LogWarning("operator",
                        "--network_policies without --network_policy_operator_from: the workers' metrics ports are "
                        "closed to this operator, so status.progress stays empty");
  }
  const std::string& list = f.gang_schedulers;
  size_t start = 0;
  while (start <= list.size() && !list.empty()) {
    const size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == "volcano") {
      o.watch_volcano_podgroups = true;
    } else if (item == "scheduler-plugins") {
      o.watch_scheduler_plugins_podgroups = true;
    } else if (!item.empty()) {
      throw kubecnn::UsageError("--gang_schedulers: unknown \"" + item +
                                "\" (use volcano and/or scheduler-plugins, comma-separated)");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return o;
}

std::string DefaultIdentity() {
  char host[256] = "kubecnn-operator";
  ::gethostname(host, sizeof host - 1);
  std::mt19937_64 rng{std::random_device{}()};
  return std::string(host) + "_" + std::to_string(rng() % 1000000);
}

}  // namespace

int main(int argc, char** argv) {
  // Flags first: a typo is reported as such, before any connection is tried.
  Flags f;
  kubecnn::controller::ControllerOptions options;
  try {
    kubecnn::FlagSet flag_set(kUsage);
    AddFlags(flag_set, f);
    const std::vector<std::string> positional = flag_set.Parse(std::vector<std::string>(argv + 1, argv + argc));
    if (flag_set.help_requested()) {
      std::cout << flag_set.Usage();
      return 0;
    }
    if (!positional.empty()) throw kubecnn::UsageError("unexpected argument \"" + positional.front() + "\"");
    Validate(f);
    options = ControllerOptionsFrom(f);
  } catch (const kubecnn::UsageError& e) {
    std::cerr << "kubecnn-operator: " << e.what() << " (see --help)\n";
    return 2;
  }
  // SIGTERM/SIGINT go to one waiting thread, which stops everything (and so releases the lease).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Memory at 1,000 jobs: under load glibc gives busy threads arenas of their own (up to 8 per
  // core), each holding freed memory apart.
  mallopt(M_ARENA_MAX, 2);

  try {
    kubecnn::kube::RestConfig rest = kubecnn::kube::LoadRestConfig(f.kubeconfig, f.context);
    rest.qps = f.kube_api_qps;
    rest.burst = f.kube_api_burst;
    LogInfo("operator", "API server " + rest.server + " (" + rest.source + ")");
    auto metrics = std::make_shared<kubecnn::kube::Metrics>();
    kubecnn::kube::Client client(rest, metrics);
    kubecnn::http::MetricsServer metrics_server(":" + std::to_string(f.metrics_port));
    metrics_server.Register(metrics->registry());
    const std::string identity = f.identity.empty() ? DefaultIdentity() : f.identity;
    options.instance = identity;
    kubecnn::controller::Controller controller(
        client, std::move(options),
        std::make_shared<kubecnn::controller::HttpProgressScraper>(
            std::make_shared<kubecnn::controller::ScrapeMetrics>(*metrics->registry())),
        *metrics->registry());
    controller.StartInformers();

    kubecnn::kube::StopSignal stop;
    std::atomic<bool> lost{false};
    kubecnn::kube::HealthServer health(
        f.health_port,
        [] {
          return std::pair<bool, std::string>{true, ""};
        },
        [&] {
          const auto contact = client.LastContact();
          return kubecnn::kube::Readiness(controller.HasSynced(),
                                          contact ? std::optional(client.clock().Now() - *contact) : std::nullopt,
                                          Milliseconds(f.api_unreachable_after));
        });
    LogInfo("operator",
            "health on :" + std::to_string(health.port()) + ", metrics on :" + std::to_string(f.metrics_port));

    std::thread signal_thread([&] {
      int sig = 0;
      sigwait(&signals, &sig);
      LogInfo("operator", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
      stop.Stop();
    });
    signal_thread.detach();

    if (f.leader_elect) {
      kubecnn::kube::LeaderElectionConfig config;
      config.ns = f.ns.empty() ? rest.default_namespace : f.ns;
      config.name = f.lease_name;
      config.identity = identity;
      config.lease_duration = Milliseconds(f.lease_duration);
      config.renew_deadline = Milliseconds(f.renew_deadline);
      config.retry_period = Milliseconds(f.retry_period);
      kubecnn::kube::LeaderElector elector(
          client, config,
          {[&] {
             LogInfo("operator", config.identity + " is leading");
             controller.StartWorkers();
           },
           [&] {
             controller.StopWorkers();  // at once: another replica may lead now
             if (!stop.stopped()) lost = true;
             LogInfo("operator", config.identity + " stopped leading");
           },
           [&](const std::string& holder) { LogInfo("operator", "current leader: " + holder); }});
      elector.Run(stop);
    } else {
      LogInfo("operator", "leader election disabled; running until SIGTERM");
      controller.StartWorkers();
      while (stop.SleepFor(std::chrono::hours(1))) {
      }
    }
    if (lost) {
      LogError("operator", "lost the leader lease; exiting so a fresh start rejoins the election");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    LogError("operator", e.what());
    return 2;
  }
}

// kubecnn-operator: connects to the API server, serves /healthz, /readyz and /metrics, keeps the
// TrainingJob controller's caches warm on every replica, and reconciles while it holds the
// leader-election Lease.
#include <prometheus/exposer.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "operator/controller/controller.h"
#include "operator/kube/client.h"
#include "operator/kube/health_server.h"
#include "operator/kube/leader_election.h"
#include "operator/kube/log.h"

namespace {

using kubecnn::kube::LogError;
using kubecnn::kube::LogInfo;

const char* kUsage = R"(usage: kubecnn-operator [flags]
  --kubeconfig=PATH      kubeconfig file (default: $KUBECONFIG, then the in-cluster service account)
  --context=NAME         kubeconfig context (default: current-context)
  --namespace=NS         namespace of the leader-election Lease (default: the config's namespace)
  --leader_elect[=BOOL]  take part in leader election (default true)
  --lease_name=NAME      Lease name (default kubecnn-operator)
  --identity=ID          this replica's identity (default: hostname + random suffix)
  --lease_duration=S --renew_deadline=S --retry_period=S   seconds (default 15, 10, 2)
  --health_port=PORT     /healthz and /readyz (default 8081)
  --api_unreachable_after=S  /readyz fails once the API server has not answered for this long
                         (default 120; the Lease is renewed and watches get bookmarks far more often)
  --metrics_port=PORT    Prometheus /metrics (default 8080)
  --watch_namespace=NS   namespace of the TrainingJobs to run (default: all namespaces)
  --concurrency=N        TrainingJobs reconciled in parallel (default 4)
  --kube_api_qps=Q --kube_api_burst=B   client-side API rate limit (default 50, 100; qps 0: none)
  --gang_schedulers=LIST PodGroup kinds to watch: volcano, scheduler-plugins (comma-separated;
                         default none: PodGroups are then read with GETs)
  --restart_backoff=S    first back-off before a failed gang is re-created (default 10, doubling to 300)
  --admission_backoff=S  first back-off after a gang did not fit in scheduleTimeoutSeconds (default 30)
  --progress_period=S    how often rank 0's metrics are read into status.progress (default 15)
)";

struct Flags {
  std::map<std::string, std::string> values = {{"kubeconfig", ""},
                                               {"context", ""},
                                               {"namespace", ""},
                                               {"leader_elect", "true"},
                                               {"lease_name", "kubecnn-operator"},
                                               {"identity", ""},
                                               {"lease_duration", "15"},
                                               {"renew_deadline", "10"},
                                               {"retry_period", "2"},
                                               {"health_port", "8081"},
                                               {"api_unreachable_after", "120"},
                                               {"metrics_port", "8080"},
                                               {"watch_namespace", ""},
                                               {"concurrency", "4"},
                                               {"kube_api_qps", "50"},
                                               {"kube_api_burst", "100"},
                                               {"gang_schedulers", ""},
                                               {"restart_backoff", "10"},
                                               {"admission_backoff", "30"},
                                               {"progress_period", "15"}};
};

// Returns false (after printing why) on an unknown flag or a malformed value.
bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) {
      std::cerr << "kubecnn-operator: unexpected argument \"" << arg << "\"\n" << kUsage;
      return false;
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (!flags->values.count(name)) {
      std::cerr << "kubecnn-operator: unknown flag --" << name << "\n" << kUsage;
      return false;
    }
    flags->values[name] = eq == std::string::npos ? "true" : arg.substr(eq + 1);
  }
  return true;
}

// The whole of `value` as a number >= 0; otherwise an error naming the flag and what it takes.
double NonNegative(const std::string& flag, const std::string& value, const std::string& what) {
  try {
    size_t used = 0;
    const double x = std::stod(value, &used);
    if (used == value.size() && x >= 0) return x;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--" + flag + "=" + value + " is not " + what);
}

std::chrono::milliseconds SecondsFlag(const std::string& flag, const std::string& value) {
  return std::chrono::milliseconds(static_cast<int64_t>(NonNegative(flag, value, "a number of seconds >= 0") * 1000));
}

int Integer(const std::string& flag, const std::string& value) {
  const double x = NonNegative(flag, value, "a non-negative integer");
  if (x != static_cast<double>(static_cast<int>(x))) {
    throw std::invalid_argument("--" + flag + "=" + value + " is not a non-negative integer");
  }
  return static_cast<int>(x);
}

// As Go's strconv.ParseBool, which kube tooling users know: 1/t/true and 0/f/false, any case.
bool Boolean(const std::string& flag, const std::string& value) {
  std::string v;
  for (char c : value) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "1" || v == "t" || v == "true") return true;
  if (v == "0" || v == "f" || v == "false") return false;
  throw std::invalid_argument("--" + flag + "=" + value + " is not true or false");
}

int Port(const std::string& flag, const std::string& value) {
  const int port = Integer(flag, value);
  if (port > 65535) {
    throw std::invalid_argument("--" + flag + "=" + value + " is not a port number (0-65535; 0 picks a free one)");
  }
  return port;
}

kubecnn::controller::ControllerOptions ControllerOptionsFrom(std::map<std::string, std::string>& f) {
  kubecnn::controller::ControllerOptions o;
  o.ns = f["watch_namespace"];
  o.workers = std::max(1, Integer("concurrency", f["concurrency"]));
  const auto secs = [&](const char* flag) {
    return std::chrono::duration_cast<std::chrono::seconds>(SecondsFlag(flag, f[flag]));
  };
  o.planner.restart_backoff = secs("restart_backoff");
  o.planner.admission_backoff = secs("admission_backoff");
  o.planner.progress_period = secs("progress_period");
  std::string list = f["gang_schedulers"];
  size_t start = 0;
  while (start <= list.size() && !list.empty()) {
    const size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == "volcano") {
      o.watch_volcano_podgroups = true;
    } else if (item == "scheduler-plugins") {
      o.watch_scheduler_plugins_podgroups = true;
    } else if (!item.empty()) {
      throw std::invalid_argument("--gang_schedulers: unknown \"" + item +
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
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  auto& f = flags.values;
  // SIGTERM/SIGINT go to one waiting thread, which stops everything (and so releases the lease).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    // Flags first: a typo is reported as such, before any connection is tried.
    const bool leader_elect = Boolean("leader_elect", f["leader_elect"]);
    const int health_port = Port("health_port", f["health_port"]);
    const int metrics_port = Port("metrics_port", f["metrics_port"]);
    const auto api_unreachable_after = SecondsFlag("api_unreachable_after", f["api_unreachable_after"]);
    kubecnn::kube::RestConfig rest = kubecnn::kube::LoadRestConfig(f["kubeconfig"], f["context"]);
    rest.qps = NonNegative("kube_api_qps", f["kube_api_qps"], "a number >= 0 (0 turns the limit off)");
    rest.burst = Integer("kube_api_burst", f["kube_api_burst"]);
    LogInfo("operator", "API server " + rest.server + " (" + rest.source + ")");
    auto metrics = std::make_shared<kubecnn::kube::Metrics>();
    kubecnn::kube::Client client(rest, metrics);
    prometheus::Exposer exposer("0.0.0.0:" + std::to_string(metrics_port));
    exposer.RegisterCollectable(metrics->registry());
    const std::string identity = f["identity"].empty() ? DefaultIdentity() : f["identity"];
    kubecnn::controller::ControllerOptions options = ControllerOptionsFrom(f);
    options.instance = identity;
    kubecnn::controller::Controller controller(
        client, std::move(options), std::make_shared<kubecnn::controller::HttpProgressScraper>(), *metrics->registry());
    controller.StartInformers();

    kubecnn::kube::StopSignal stop;
    std::atomic<bool> lost{false};
    kubecnn::kube::HealthServer health(
        health_port,
        [] {
          return std::pair<bool, std::string>{true, ""};
        },
        [&] {
          const auto contact = client.LastContact();
          return kubecnn::kube::Readiness(controller.HasSynced(),
                                          contact ? std::optional(client.clock().Now() - *contact) : std::nullopt,
                                          api_unreachable_after);
        });
    LogInfo("operator", "health on :" + std::to_string(health.port()) + ", metrics on :" + f["metrics_port"]);

    std::thread signal_thread([&] {
      int sig = 0;
      sigwait(&signals, &sig);
      LogInfo("operator", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
      stop.Stop();
    });
    signal_thread.detach();

    if (leader_elect) {
      kubecnn::kube::LeaderElectionConfig config;
      config.ns = f["namespace"].empty() ? rest.default_namespace : f["namespace"];
      config.name = f["lease_name"];
      config.identity = identity;
      config.lease_duration = SecondsFlag("lease_duration", f["lease_duration"]);
      config.renew_deadline = SecondsFlag("renew_deadline", f["renew_deadline"]);
      config.retry_period = SecondsFlag("retry_period", f["retry_period"]);
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

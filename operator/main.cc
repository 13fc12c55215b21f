// kubecnn-operator: connects to the API server, serves /healthz, /readyz and /metrics, and takes
// part in leader election on a Lease. The TrainingJob controller that runs while leading is wired
// in by operator/controller (issue 6); until then the leader only holds the lease.
#include <prometheus/exposer.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>

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
  --metrics_port=PORT    Prometheus /metrics (default 8080)
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
                                               {"metrics_port", "8080"}};
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

std::chrono::milliseconds Seconds(const std::string& flag, const std::string& value) {
  try {
    return std::chrono::milliseconds(static_cast<int64_t>(std::stod(value) * 1000));
  } catch (const std::exception&) {
    throw std::invalid_argument("--" + flag + "=" + value + " is not a number of seconds");
  }
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
    kubecnn::kube::RestConfig rest = kubecnn::kube::LoadRestConfig(f["kubeconfig"], f["context"]);
    LogInfo("operator", "API server " + rest.server + " (" + rest.source + ")");
    auto metrics = std::make_shared<kubecnn::kube::Metrics>();
    kubecnn::kube::Client client(rest, metrics);
    prometheus::Exposer exposer("0.0.0.0:" + f["metrics_port"]);
    exposer.RegisterCollectable(metrics->registry());

    std::atomic<bool> talked_to_api{false};
    kubecnn::kube::StopSignal stop;
    std::atomic<bool> lost{false};
    kubecnn::kube::HealthServer health(
        std::stoi(f["health_port"]),
        [] {
          return std::pair<bool, std::string>{true, ""};
        },
        [&] {
          return std::pair<bool, std::string>{talked_to_api.load(), "not yet connected to the API server"};
        });
    LogInfo("operator", "health on :" + std::to_string(health.port()) + ", metrics on :" + f["metrics_port"]);

    std::thread signal_thread([&] {
      int sig = 0;
      sigwait(&signals, &sig);
      LogInfo("operator", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
      stop.Stop();
    });
    signal_thread.detach();

    if (f["leader_elect"] == "true") {
      kubecnn::kube::LeaderElectionConfig config;
      config.ns = f["namespace"].empty() ? rest.default_namespace : f["namespace"];
      config.name = f["lease_name"];
      config.identity = f["identity"].empty() ? DefaultIdentity() : f["identity"];
      config.lease_duration = Seconds("lease_duration", f["lease_duration"]);
      config.renew_deadline = Seconds("renew_deadline", f["renew_deadline"]);
      config.retry_period = Seconds("retry_period", f["retry_period"]);
      kubecnn::kube::LeaderElector elector(client, config,
                                           {[&] { LogInfo("operator", config.identity + " is leading"); },
                                            [&] {
                                              if (!stop.stopped()) lost = true;
                                              LogInfo("operator", config.identity + " stopped leading");
                                            },
                                            [&](const std::string& holder) {
                                              talked_to_api = true;
                                              LogInfo("operator", "current leader: " + holder);
                                            }});
      talked_to_api = true;
      elector.Run(stop);
    } else {
      talked_to_api = true;
      LogInfo("operator", "leader election disabled; running until SIGTERM");
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

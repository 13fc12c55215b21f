// A TrainingJob's NetworkPolicies (--network_policies): its workers accept connections only from
// their own gang (any port: sshd, NCCL, ORTE) and, on the metrics ports, from the operator's pods
// and Prometheus; its launcher accepts connections only from its own workers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/defaults.h"
#include "operator/kube/resource.h"

namespace kubecnn::controller {

// networking.k8s.io/v1 networkpolicies (not one of operator/kube's resources: only this feature uses it).
extern const kube::Resource kNetworkPolicies;

struct NetworkPolicyConfig {
  bool enabled = false;  // off: no policy is made, and none is watched
  // NetworkPolicyPeers (JSON arrays) that may reach the workers' metrics ports: the operator's own
  // pods, whose progress scraper reads rank 0, and Prometheus. Empty: no one beyond the gang.
  nlohmann::json operator_from = nlohmann::json::array();
  nlohmann::json metrics_from = nlohmann::json::array();
};

// A flag's JSON list of NetworkPolicyPeers ("" is the empty list). Throws std::invalid_argument
// naming the flag and what is wrong: not JSON, not a list, or an entry that is not a peer.
nlohmann::json ParseNetworkPolicyPeers(const std::string& flag, const std::string& text);

// Selects the job's workers. Ingress: any port from the job's pods (its launcher and the other
// workers); the metrics ports (kMetricsBasePort + local rank) from config's peers, when it has any.
nlohmann::json WorkerNetworkPolicy(const api::DefaultedJob& job, const NetworkPolicyConfig& config);
// Selects the job's launchers (training and evaluation). Ingress: any port from the job's workers
// (ORTE's daemons call mpirun back); nothing else.
nlohmann::json LauncherNetworkPolicy(const api::JobMeta& job);

}  // namespace kubecnn::controller

// How the node agent turns one pod object into what its sandbox needs: the container's argv, env,
// user and groups, and every volume materialised under the pod's directory and mounted where the
// container asks. A kubelet's rules, for the parts the operator's pods use.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace kubecnn::e2e {

struct NodeImage;

// A pod the kubelet refuses to start; reason is what it shows in the container's waiting state.
struct PodConfigError : std::runtime_error {
  PodConfigError(std::string reason, const std::string& message)
      : std::runtime_error(message), reason(std::move(reason)) {}
  std::string reason;  // CreateContainerConfigError, ErrImageNeverPull, ...
};

struct PodSetupInputs {
  const nlohmann::json* pod = nullptr;
  const NodeImage* image = nullptr;
  std::string pod_dir;
  std::string ip;
  std::string hosts_file;  // bound at /etc/hosts
  const std::map<std::string, std::string>* claims = nullptr;
  // GET of a Secret ("secrets") or ConfigMap ("configmaps") in the pod's namespace; throws when absent.
  std::function<nlohmann::json(const std::string& kind, const std::string& name)> get;
  // A token of the pod's ServiceAccount for a projected serviceAccountToken source (its audience
  // and expirationSeconds), bound to the pod: the kubelet's TokenRequest.
  std::function<std::string(const nlohmann::json& token_source)> service_account_token;
  // KUBERNETES_SERVICE_HOST / _PORT, as the kubelet sets them from the `kubernetes` Service
  // (not set when the host is empty).
  std::string api_host;
  int api_port = 0;
};

struct PodSetup {
  nlohmann::json sandbox;           // the sandbox's SPEC.json, less netns and log
  std::string termination_log;      // on this machine
  std::string termination_policy;   // File | FallbackToLogsOnError
  int readiness_port = 0;           // tcpSocket or httpGet probe; 0: none (ready once running)
  std::string readiness_http_path;  // httpGet: the path; "": a tcpSocket probe
  double readiness_period_seconds = 10;
  double readiness_initial_delay_seconds = 0;
};

// Throws PodConfigError for what a kubelet would refuse (unknown volume type, missing Secret,
// runAsNonRoot with uid 0, ...).
PodSetup SetUpPod(const PodSetupInputs& in);

// The /etc/hosts of a pod: localhost, the pod's own names, then `cluster` ("IP names..." lines).
std::string HostsFile(const std::string& own_ip, const std::string& own_names, const std::string& cluster);

}  // namespace kubecnn::e2e

// kubeconfig `exec` credential plugins (client.authentication.k8s.io v1 and v1beta1
// ExecCredential, as run by kubectl for `aws eks get-token`, gke-gcloud-auth-plugin, kubelogin):
// the request in KUBERNETES_EXEC_INFO, the reply's parsing, and the process that runs the plugin.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "operator/kube/clock.h"

namespace kubecnn::kube {

struct ExecConfig {
  std::string user;         // the kubeconfig user it belongs to, for messages
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;      // PATH-searched unless it holds a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to this process's environment
  std::string install_hint;                              // shown when the command is not found
  bool provide_cluster_info = false;
  // The cluster, sent in spec.cluster when provide_cluster_info is set.
  std::string cluster_server;
  std::string cluster_ca_pem;
  bool cluster_insecure_skip_tls_verify = false;
};

struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<WallTime> expiry;  // nullopt: valid until the server refuses it
};

// `aws eks get-token --cluster-name x`, for messages (never the credential).
std::string DescribeExecCommand(const ExecConfig& exec);

// The KUBERNETES_EXEC_INFO value: {"apiVersion", "kind": "ExecCredential", "spec": {"interactive":
// false[, "cluster": {...}]}}.
std::string ExecInfoJson(const ExecConfig& exec);

// Parses the plugin's stdout. Throws std::runtime_error naming the user and the command, and what
// is wrong, never quoting the output (it may hold the token).
ExecCredential ParseExecCredential(const std::string& stdout_text, const ExecConfig& exec);

// RFC 3339 ("2026-05-01T12:00:00Z", fractional seconds and numeric offsets accepted); nullopt otherwise.
std::optional<WallTime> ParseRfc3339(const std::string& text);

// Runs the plugin with stdin from /dev/null, its env and KUBERNETES_EXEC_INFO, and parses what it
// prints. Throws std::runtime_error in one line naming the user and the command when it cannot be
// started (with its installHint when not found), fails (its exit code and last stderr line), runs
// past 2 minutes, prints over 1 MiB, or prints no valid ExecCredential.
ExecCredential RunExecPlugin(const ExecConfig& exec);

}  // namespace kubecnn::kube

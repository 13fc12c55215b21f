// How the client finds and authenticates to the API server: kubeconfig files (current context,
// clusters, users; several merged as kubectl merges $KUBECONFIG) and the in-cluster service
// account, chosen --kubeconfig, then $KUBECONFIG, then in-cluster; tokens from a file or an exec
// credential plugin, refreshed when they rotate or expire.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "operator/kube/exec_credential.h"

namespace kubecnn::kube {

struct RestConfig {
  std::string server;  // "https://10.0.0.1:6443"
  std::string ca_pem;  // the only CAs trusted (a bundle); empty: the system's trust store
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string bearer_token;        // a fixed token ...
  std::string token_file;          // ... or a file re-read when it changes (service-account rotation)
  std::optional<ExecConfig> exec;  // ... or an exec plugin run for a token, again when it expires
  std::string default_namespace = "default";
  double qps = 20;
  int burst = 30;
  std::chrono::seconds timeout{30};
  std::string user_agent = "kubecnn-operator";
  std::string source;  // where this came from, for messages ("kubeconfig /root/.kube/config, context kind")
};

// Reads a file's whole contents; throws std::runtime_error naming the path.
using FileReader = std::function<std::string(const std::string& path)>;
std::string ReadWholeFile(const std::string& path);

// Parses kubeconfig YAML. `path` resolves relative file references and names the file in errors;
// `context` overrides current-context when not empty. Throws std::invalid_argument naming the
// missing or unsupported entry and what to do (auth-provider plugins and basic auth are refused).
RestConfig ParseKubeconfig(const std::string& yaml, const std::string& path, const std::string& context,
                           const FileReader& read_file);

struct KubeconfigFile {
  std::string path;
  std::string yaml;
};
// Several kubeconfig files merged as kubectl merges $KUBECONFIG: the first file that sets a value
// wins; clusters, users and contexts are merged by name (the first file's entry whole), and
// current-context comes from the first file that has one. Relative paths (certificate files,
// tokenFile, an exec command holding a '/') resolve against the directory of the file that
// defined the entry. An empty file is allowed; one that does not parse is an error naming it.
RestConfig ParseKubeconfigs(const std::vector<KubeconfigFile>& files, const std::string& context,
                            const FileReader& read_file);
// Reads each path (missing ones were dropped by the caller) and parses them as above.
RestConfig LoadKubeconfigFiles(const std::vector<std::string>& paths, const std::string& context);

// The in-cluster configuration from the service host/port environment and the service-account
// directory (token, ca.crt, namespace). Throws std::runtime_error when not in a pod.
RestConfig InClusterConfig(const std::string& service_host, const std::string& service_port,
                           const std::string& account_dir, const FileReader& read_file);

enum class ConfigSource { kFlag, kEnvironment, kInCluster, kHome, kNone };
struct ConfigChoice {
  ConfigSource source = ConfigSource::kNone;
  std::vector<std::string> paths;  // the kubeconfig files for kFlag and kHome (one), kEnvironment (merged)
};
// Who is choosing: a controller (controller-runtime's GetConfig: in a pod, its own account before a
// ~/.kube/config) or a command a person types (kubectl's loading rules: ~/.kube/config first).
enum class ConfigOrder { kController, kKubectl };
// --kubeconfig wins, then every existing file of $KUBECONFIG (colon-separated, duplicates once, in
// order, merged by ParseKubeconfigs), then in-cluster when the service environment is present and
// $HOME/.kube/config when it exists and $KUBECONFIG is unset, in `order`'s order.
ConfigChoice ChooseConfigSource(const std::string& flag, const std::string& env_kubeconfig, bool in_cluster,
                                const std::string& home, const std::function<bool(const std::string&)>& exists,
                                ConfigOrder order = ConfigOrder::kController);

// The I/O shell over the above: the process environment and files.
RestConfig LoadRestConfig(const std::string& kubeconfig_flag, const std::string& context = "");

// Runs an exec credential plugin (RunExecPlugin; tests pass their own).
using ExecRunner = std::function<ExecCredential(const ExecConfig&)>;

// A bearer token that follows a token file: re-read whenever the file's modification time or
// size changes, and at least every `max_age`, so a rotated service-account token is picked up.
// With an exec plugin, the plugin's token is kept until its expirationTimestamp (on `now`) or
// until Invalidate(), then the plugin runs again.
class TokenSource {
 public:
  TokenSource(std::string fixed_token, std::string token_file, std::chrono::seconds max_age = std::chrono::seconds(60));
  // The config's token, token file or exec plugin.
  explicit TokenSource(
      const RestConfig& config, ExecRunner run_exec = RunExecPlugin,
      std::function<WallTime()> now = [] { return std::chrono::system_clock::now(); });
  // The current token ("" for none). Throws std::runtime_error when the file cannot be read or the
  // exec plugin fails (naming the user and the command, never the token).
  std::string Token();
  // Forces a re-read (or a new run of the exec plugin) on the next Token() (after a 401).
  void Invalidate();
  // Whether Invalidate() can bring a different token (a token file or an exec plugin).
  bool Refreshable() const { return !file_.empty() || exec_.has_value(); }

 private:
  std::string ExecToken();

  std::string fixed_;
  std::string file_;
  std::chrono::seconds max_age_;
  std::optional<ExecConfig> exec_;
  ExecRunner run_exec_;
  std::function<WallTime()> now_;
  std::optional<ExecCredential> credential_;
  std::mutex mu_;
  std::string cached_;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace kubecnn::kube

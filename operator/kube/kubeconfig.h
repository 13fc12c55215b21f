// How the client finds and authenticates to the API server: kubeconfig files (current context,
// clusters, users) and the in-cluster service account, chosen --kubeconfig, then $KUBECONFIG, then
// in-cluster.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>

namespace kubecnn::kube {

struct RestConfig {
  std::string server;  // "https://10.0.0.1:6443"
  std::string ca_pem;  // the only CAs trusted (a bundle); empty: the system's trust store
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string bearer_token;  // a fixed token ...
  std::string token_file;    // ... or a file re-read when it changes (service-account rotation)
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
// missing or unsupported entry and what to do (exec/auth-provider plugins are not supported).
RestConfig ParseKubeconfig(const std::string& yaml, const std::string& path, const std::string& context,
                           const FileReader& read_file);

// The in-cluster configuration from the service host/port environment and the service-account
// directory (token, ca.crt, namespace). Throws std::runtime_error when not in a pod.
RestConfig InClusterConfig(const std::string& service_host, const std::string& service_port,
                           const std::string& account_dir, const FileReader& read_file);

enum class ConfigSource { kFlag, kEnvironment, kInCluster, kNone };
struct ConfigChoice {
  ConfigSource source = ConfigSource::kNone;
  std::string path;  // the kubeconfig file for kFlag/kEnvironment
};
// --kubeconfig wins, then the first existing file of $KUBECONFIG (colon-separated), then
// in-cluster when the service environment is present.
ConfigChoice ChooseConfigSource(const std::string& flag, const std::string& env_kubeconfig, bool in_cluster,
                                const std::function<bool(const std::string&)>& exists);

// The I/O shell over the above: the process environment and files.
RestConfig LoadRestConfig(const std::string& kubeconfig_flag, const std::string& context = "");

// A bearer token that follows a token file: re-read whenever the file's modification time or
// size changes, and at least every `max_age`, so a rotated service-account token is picked up.
class TokenSource {
 public:
  TokenSource(std::string fixed_token, std::string token_file, std::chrono::seconds max_age = std::chrono::seconds(60));
  // The current token ("" for none). Throws std::runtime_error when the file cannot be read.
  std::string Token();
  // Forces a re-read on the next Token() (after a 401).
  void Invalidate();

 private:
  std::string fixed_;
  std::string file_;
  std::chrono::seconds max_age_;
  std::mutex mu_;
  std::string cached_;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace kubecnn::kube

// Connection flags, kubeconfig resolution and the lazily made client.
#include "operator/plugin/session.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ostream>

#include "operator/kube/kubeconfig.h"

namespace kubecnn::plugin {

void AddGlobalFlags(FlagSet& flags, GlobalFlags& v) {
  flags.Add("kubeconfig", &v.kubeconfig, "path to the kubeconfig file");
  flags.Add("context", &v.context, "the kubeconfig context to use");
  flags.Add("namespace", &v.ns, "the namespace");
  flags.Add("n", &v.ns, "the namespace");
}

std::vector<std::string> KubeconfigPaths(const std::string& flag, const std::string& env_kubeconfig,
                                         const std::string& home,
                                         const std::function<bool(const std::string&)>& exists) {
  if (!flag.empty()) return {flag};  // a missing file is then an error, as in kubectl
  if (!env_kubeconfig.empty()) {
    // As client-go's loading rules: a set $KUBECONFIG is the whole list (~/.kube/config is not added).
    std::vector<std::string> paths;
    size_t start = 0;
    while (start <= env_kubeconfig.size()) {
      const size_t colon = env_kubeconfig.find(':', start);
      const std::string path =
          env_kubeconfig.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!path.empty() && exists(path) && std::find(paths.begin(), paths.end(), path) == paths.end()) {
        paths.push_back(path);
      }
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    return paths;
  }
  if (!home.empty() && exists(home + "/.kube/config")) return {home + "/.kube/config"};
  return {};
}

Session::Session(GlobalFlags flags, Terminal& terminal) : flags_(std::move(flags)), terminal_(terminal) {}
Session::~Session() = default;

const kube::RestConfig& Session::Config() {
  if (!config_loaded_) {
    config_loaded_ = true;
    const auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v ? v : "");
    };
    const auto exists = [](const std::string& path) {
      struct stat st {};
      return ::stat(path.c_str(), &st) == 0;
    };
    const std::vector<std::string> paths = KubeconfigPaths(flags_.kubeconfig, env("KUBECONFIG"), env("HOME"), exists);
    try {
      if (!paths.empty()) {
        config_ = kube::LoadKubeconfigFiles(paths, flags_.context);
      } else if (!env("KUBERNETES_SERVICE_HOST").empty()) {
        config_ = kube::LoadRestConfig("", flags_.context);  // in a pod: its service account
      } else {
        config_problem_ =
            "no kubeconfig: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config (the file kubectl uses)";
      }
    } catch (const std::exception& e) {
      config_problem_ = e.what();
    }
    if (config_) config_->user_agent = "kubectl-kubecnn";
  }
  if (!config_) throw ConfigError(config_problem_);
  return *config_;
}

kube::Client& Session::client() {
  if (!client_) {
    kube::ClientOptions options;
    options.retry.max_attempts = 3;
    client_ = std::make_unique<kube::Client>(Config(), nullptr, options);
  }
  return *client_;
}

std::string Session::Namespace() {
  if (!flags_.ns.empty()) return flags_.ns;
  try {
    return Config().default_namespace;
  } catch (const ConfigError&) {
    return "default";
  }
}

}  // namespace kubecnn::plugin

// Connection flags, kubeconfig resolution and the lazily made client.
#include "operator/plugin/session.h"

#include <sys/stat.h>

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
    const bool in_cluster = !env("KUBERNETES_SERVICE_HOST").empty() && !env("KUBERNETES_SERVICE_PORT").empty();
    const kube::ConfigChoice choice = kube::ChooseConfigSource(flags_.kubeconfig, env("KUBECONFIG"), in_cluster,
                                                               env("HOME"), exists, kube::ConfigOrder::kKubectl);
    try {
      if (!choice.paths.empty()) {
        config_ = kube::LoadKubeconfigFiles(choice.paths, flags_.context);
      } else if (choice.source == kube::ConfigSource::kInCluster) {
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

// What every kubectl-kubecnn command shares: kubectl's connection flags (--kubeconfig, --context,
// -n/--namespace) resolved as kubectl resolves them, a client made on first use, and the terminal.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "trainer/common/flags.h"

namespace kubecnn::plugin {

struct GlobalFlags {
  std::string kubeconfig;
  std::string context;
  std::string ns;
};

// --kubeconfig, --context, -n/--namespace.
void AddGlobalFlags(FlagSet& flags, GlobalFlags& values);

struct Terminal {
  std::ostream& out;
  std::ostream& err;
  bool tty = false;  // stdout is a terminal: watch redraws its line in place
  int width = 0;     // its columns; 0: unknown
};

class Session {
 public:
  Session(GlobalFlags flags, Terminal& terminal);
  ~Session();

  // Connects on first use. Throws ConfigError when there is no kubeconfig or it does not parse.
  kube::Client& client();
  // -n, else the kubeconfig context's namespace, else "default" (also without a kubeconfig, so
  // `run --dry-run=client` works anywhere).
  std::string Namespace();
  Terminal& terminal() { return terminal_; }

 private:
  const kube::RestConfig& Config();

  GlobalFlags flags_;
  Terminal& terminal_;
  std::optional<kube::RestConfig> config_;
  std::string config_problem_;  // why there is no config
  bool config_loaded_ = false;
  std::unique_ptr<kube::Client> client_;
};

// The kubeconfig is missing or unusable: "error: <message>", exit 1 as kubectl.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kubecnn::plugin

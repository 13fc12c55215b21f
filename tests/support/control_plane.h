// A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler from $KUBEBUILDER_ASSETS (envtest's convention), on free ports, with their own
// certificates, in a scratch folder; stopped by pid when it goes, killed with the test process.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/control_plane_config.h"
#include "tests/support/https_get.h"
#include "tests/support/process.h"
#include "tests/support/test_files.h"
#include "tests/support/test_pki.h"

// Skips the test (fails it under CI) when $KUBEBUILDER_ASSETS does not hold the binaries, saying
// how to get them.
#define KUBECNN_SKIP_WITHOUT_CONTROL_PLANE()                                  \
  KUBECNN_SKIP_IF(!::kubecnn::testing::ControlPlane::AssetsProblem().empty(), \
                  ::kubecnn::testing::ControlPlane::AssetsProblem())

namespace kubecnn::testing {

struct ControlPlaneOptions {
  // Where kube-apiserver listens (and a SAN of its certificate): an address of this process's
  // network namespace, e.g. the e2e suite's pod-network bridge so that pods reach it. etcd and the
  // controllers stay on 127.0.0.1.
  std::string bind_address = "127.0.0.1";
  std::string assets_dir;  // "": $KUBEBUILDER_ASSETS
  // Ports for the first attempt, each 0 for any free one; when one is taken, the next attempt
  // picks all anew.
  ControlPlanePorts first_ports;
  // How long each component may take to become ready (2 loaded cores start all four in ~6 s).
  std::chrono::seconds ready_timeout{90};
  // Flags appended to a component's command line, by its name ("etcd", "kube-apiserver",
  // "kube-controller-manager", "kube-scheduler"), e.g. {"kube-scheduler", {"--kube-api-qps=1000"}}
  // for a benchmark; a flag given again overrides ours. Another name is refused.
  std::map<std::string, std::vector<std::string>> extra_flags;
};

class ControlPlane {
 public:
  // "" when the binaries are there, else what is missing and how to get it.
  static std::string AssetsProblem();
  // The one control plane of this test binary, started on first use (from the test's main thread:
  // the components die with the thread that started them), stopped at exit. Throws as the
  // constructor does, again on every call once starting has failed.
  static ControlPlane& Shared();

  // Starts all four and waits until each is ready: etcd's /health, kube-apiserver's /readyz, the
  // controllers' /healthz, and the `default` ServiceAccount the controllers make (pods are refused
  // before it exists). Picks new ports and starts again when one was taken meanwhile. Throws
  // std::runtime_error naming the component, its command line and the end of its log, and
  // std::invalid_argument for extra_flags of a component it does not run.
  explicit ControlPlane(ControlPlaneOptions options = {});
  ~ControlPlane();  // SIGTERM to each, newest first; SIGKILL after 5 s
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  const std::string& server_url() const { return server_url_; }  // "https://127.0.0.1:PORT"
  const std::string& bind_address() const { return options_.bind_address; }
  const ControlPlanePorts& ports() const { return ports_; }
  // A kubeconfig file of a cluster-admin (O=system:masters).
  const std::string& admin_kubeconfig() const { return files_.admin_kubeconfig; }
  const std::string& ca_cert_pem() const { return ca_.cert_pem; }
  // The admin's client certificate and the cluster CA, for HttpsGet.
  TlsClient admin_tls() const { return TlsClient{ca_.cert_pem, admin_.cert_pem, admin_.key_pem, false}; }
  const std::string& kubectl() const { return assets_.kubectl; }
  const ControlPlaneAssets& assets() const { return assets_; }
  const std::string& dir() const { return scratch_.path(); }
  // A component's log file: "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler".
  std::string log_path(const std::string& component) const { return files_.Log(component); }
  // The running components' process ids, in start order (etcd, kube-apiserver, kube-controller-manager,
  // kube-scheduler).
  std::vector<pid_t> pids() const;
  // How long each component took to become ready, for the test's output.
  const std::string& startup_timing() const { return startup_timing_; }
  // 1, or more when a port was taken and everything started again on new ones.
  int start_attempts() const { return start_attempts_; }

  // A new kubeconfig file for `user` in `groups` (a client certificate from the cluster CA:
  // CN=user, O=each group), e.g. "system:node:n1" in {"system:nodes"} for a kubelet.
  std::string KubeconfigFor(const std::string& user, const std::vector<std::string>& groups = {});
  // A new kubeconfig file that presents a bearer token (a ServiceAccount's, from `kubectl create token`).
  std::string KubeconfigForToken(const std::string& token, const std::string& user_name = "token-user");

  // Runs `kubectl --kubeconfig=<admin> ARGS` through the shell (quote what needs it) with `input` on
  // its stdin when not empty ("apply -f -"); exit code and stdout+stderr.
  CommandOutcome Kubectl(const std::string& args, const std::string& input = "");
  // Creates a namespace with `labels` and waits (up to 60 s) for its `default` ServiceAccount, before
  // which the ServiceAccount admission plugin refuses pods. Throws with kubectl's output on failure.
  void CreateNamespace(const std::string& name, const std::map<std::string, std::string>& labels = {});

 private:
  struct Component {
    std::string name;
    std::vector<std::string> argv;
    std::unique_ptr<Process> process;
  };

  void WritePki();
  void WriteKubeconfigs();
  void StartAll();
  void StopAll();
  Component& Start(const std::string& name, std::vector<std::string> argv);
  // Polls `probe` every 100 ms until it holds; throws when any started component exits or after
  // the ready timeout.
  void WaitUntil(Component& component, const std::string& what, const std::function<bool()>& probe);
  std::string NewFilePath(const std::string& stem, const std::string& extension);

  ScratchDir scratch_;
  ControlPlaneOptions options_;
  ControlPlaneAssets assets_;
  ControlPlaneFiles files_;
  KeyPair ca_;
  KeyPair admin_;
  ControlPlanePorts ports_;
  std::string server_url_;
  std::vector<Component> running_;  // in start order
  std::string startup_timing_;
  int start_attempts_ = 0;
  std::mutex files_mu_;
  int file_counter_ = 0;
};

}  // namespace kubecnn::testing

// What a test control plane is made of, decided without running anything: where the binaries are
// (envtest's KUBEBUILDER_ASSETS convention), the files in its scratch folder, each component's
// flags, and kubeconfig files.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace kubecnn::testing {

// A folder of kube-apiserver, kube-controller-manager, kube-scheduler, etcd and (optionally)
// kubectl, as controller-runtime's envtest expects in $KUBEBUILDER_ASSETS.
struct ControlPlaneAssets {
  static constexpr const char* kEnvironmentVariable = "KUBEBUILDER_ASSETS";
  // Where kubectl is looked for when the assets have none (1.27: within the skew of a 1.26 server).
  static constexpr const char* kFallbackKubectl = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";

  std::string dir;
  std::string etcd;
  std::string kube_apiserver;
  std::string kube_controller_manager;
  std::string kube_scheduler;
  std::string kubectl;

  // The assets in `dir`, or in $KUBEBUILDER_ASSETS when `dir` is empty; throws std::runtime_error
  // with FindProblem's message when something is missing.
  static ControlPlaneAssets Find(const std::string& dir = "");
};

// Why `dir` (the value of KUBEBUILDER_ASSETS, "" when unset) cannot run a control plane, with what to
// do about it; "" when it can. `executable(path)` says whether a file is there and may be run.
std::string FindProblem(const std::string& dir, const std::function<bool(const std::string&)>& executable);

// The paths of one control plane's files under its scratch folder.
struct ControlPlaneFiles {
  explicit ControlPlaneFiles(const std::string& dir);
  std::string dir;
  std::string ca_cert, ca_key;                           // the cluster CA: clients, serving, CSR signing
  std::string apiserver_cert, apiserver_key;             // serving certificate of kube-apiserver
  std::string service_account_key, service_account_pub;  // token signer
  std::string front_proxy_ca_cert;                       // CA of the aggregation layer's client
  std::string front_proxy_client_cert, front_proxy_client_key;
  std::string kubelet_client_cert, kubelet_client_key;  // kube-apiserver towards kubelets (pods/log)
  std::string admin_kubeconfig, controller_manager_kubeconfig, scheduler_kubeconfig;
  std::string etcd_data;
  std::string apiserver_cert_dir, controller_manager_cert_dir, scheduler_cert_dir;
  std::string flex_volume_dir;  // kube-controller-manager's default (/usr/libexec/...) is not writable everywhere
  std::string Log(const std::string& component) const { return dir + "/" + component + ".log"; }
};

struct ControlPlanePorts {
  int etcd_client = 0;
  int etcd_peer = 0;
  int apiserver = 0;
  int controller_manager = 0;
  int scheduler = 0;
};

// argv of each component. etcd, kube-controller-manager and kube-scheduler listen on 127.0.0.1;
// kube-apiserver on `bind_address`. kube-apiserver reaches a kubelet (pods/log) at its Node's
// InternalIP with the kubelet client certificate, and trusts its serving certificate only when the
// cluster CA signed it.
std::vector<std::string> EtcdArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                  const ControlPlanePorts& ports);
std::vector<std::string> ApiserverArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                       const ControlPlanePorts& ports, const std::string& bind_address);
std::vector<std::string> ControllerManagerArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                               const ControlPlanePorts& ports);
std::vector<std::string> SchedulerArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                       const ControlPlanePorts& ports);

// The IP subjectAltNames of kube-apiserver's serving certificate: loopback, the bind address, and
// the first address of the service range (the `kubernetes` Service's ClusterIP).
std::vector<std::string> ApiserverIpSans(const std::string& bind_address);
// Its DNS names: the `kubernetes` Service's in-cluster names.
std::vector<std::string> ApiserverDnsSans();

// "https://HOST:PORT", IPv6 literals bracketed.
std::string HttpsUrl(const std::string& host, int port);

// A kubeconfig with one cluster (`server`, CA data inline), one user and a current context. The
// user authenticates with the client certificate when `client_cert_pem` is set, else the token.
struct KubeconfigUser {
  std::string name;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;
};
std::string KubeconfigYaml(const std::string& server, const std::string& ca_pem, const KubeconfigUser& user);

// The command line as one line for messages, arguments with spaces or quotes single-quoted.
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace kubecnn::testing

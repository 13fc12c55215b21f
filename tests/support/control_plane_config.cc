// Assets lookup, file layout, component flags and kubeconfig text of the test control plane.
#include "tests/support/control_plane_config.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace kubecnn::testing {
namespace {

constexpr const char* kServiceClusterIpRange = "10.96.0.0/16";
constexpr const char* kKubernetesServiceIp = "10.96.0.1";  // the first address of the range above
constexpr const char* kServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local";
// kube-apiserver's defaults plus the two a hardened cluster adds: NodeRestriction (a kubelet may
// change only its own Node and its pods) and OwnerReferencesPermissionEnforcement (setting
// blockOwnerDeletion needs delete rights on the owner). PodSecurity is on by default in 1.26.
constexpr const char* kAdmissionPlugins =
    "NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,"
    "MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,NodeRestriction,"
    "OwnerReferencesPermissionEnforcement";

constexpr const char* kHowToGetAssets =
    "run `export KUBEBUILDER_ASSETS=$(bash scripts/k8s-assets.sh)` from the repository (it links the "
    "Kubernetes v1.26 binaries of ../shared/k8s/v1.26, Debian's etcd and a kubectl into build/k8s-assets; "
    "apt-get install etcd-server when etcd is missing), or point KUBEBUILDER_ASSETS at an envtest "
    "folder (setup-envtest use 1.26.x -p path)";

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A YAML double-quoted scalar (JSON's syntax), for names such as "system:node:n1".
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

std::vector<std::string> DelegatedServingArgs(const std::string& kubeconfig, int port) {
  return {"--kubeconfig=" + kubeconfig,
          "--authentication-kubeconfig=" + kubeconfig,
          "--authorization-kubeconfig=" + kubeconfig,
          "--bind-address=127.0.0.1",
          "--secure-port=" + std::to_string(port),
          "--leader-elect=false",
          "--profiling=false"};
}

}  // namespace

std::string FindProblem(const std::string& dir, const std::function<bool(const std::string&)>& executable) {
  if (dir.empty()) {
    return std::string("no Kubernetes control-plane binaries: ") + ControlPlaneAssets::kEnvironmentVariable +
           " is not set; " + kHowToGetAssets;
  }
  std::string missing;
  for (const char* name : {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"}) {
    if (!executable(dir + "/" + name)) missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty()) {
    return std::string(ControlPlaneAssets::kEnvironmentVariable) + "=" + dir + " has no executable " + missing +
           " (a file that is not executable, such as ../shared/k8s/v1.26's name files, does not count); " +
           kHowToGetAssets;
  }
  if (!executable(dir + "/kubectl") && !executable(ControlPlaneAssets::kFallbackKubectl)) {
    return std::string("no kubectl: neither ") + dir + "/kubectl nor " + ControlPlaneAssets::kFallbackKubectl +
           " is executable; link one into " + ControlPlaneAssets::kEnvironmentVariable +
           " (scripts/k8s-assets.sh takes the one on PATH)";
  }
  return "";
}

ControlPlaneAssets ControlPlaneAssets::Find(const std::string& dir) {
  std::string from = dir;
  if (from.empty()) {
    const char* env = std::getenv(kEnvironmentVariable);
    from = env != nullptr ? env : "";
  }
  while (from.size() > 1 && from.back() == '/') from.pop_back();
  const auto executable = [](const std::string& path) { return ::access(path.c_str(), X_OK) == 0; };
  const std::string problem = FindProblem(from, executable);
  if (!problem.empty()) throw std::runtime_error(problem);
  ControlPlaneAssets assets;
  assets.dir = from;
  assets.etcd = from + "/etcd";
  assets.kube_apiserver = from + "/kube-apiserver";
  assets.kube_controller_manager = from + "/kube-controller-manager";
  assets.kube_scheduler = from + "/kube-scheduler";
  assets.kubectl = executable(from + "/kubectl") ? from + "/kubectl" : kFallbackKubectl;
  return assets;
}

ControlPlaneFiles::ControlPlaneFiles(const std::string& d)
    : dir(d),
      ca_cert(d + "/pki/ca.crt"),
      ca_key(d + "/pki/ca.key"),
      apiserver_cert(d + "/pki/apiserver.crt"),
      apiserver_key(d + "/pki/apiserver.key"),
      service_account_key(d + "/pki/sa.key"),
      service_account_pub(d + "/pki/sa.pub"),
      front_proxy_ca_cert(d + "/pki/front-proxy-ca.crt"),
      front_proxy_client_cert(d + "/pki/front-proxy-client.crt"),
      front_proxy_client_key(d + "/pki/front-proxy-client.key"),
      kubelet_client_cert(d + "/pki/apiserver-kubelet-client.crt"),
      kubelet_client_key(d + "/pki/apiserver-kubelet-client.key"),
      admin_kubeconfig(d + "/admin.kubeconfig"),
      controller_manager_kubeconfig(d + "/controller-manager.kubeconfig"),
      scheduler_kubeconfig(d + "/scheduler.kubeconfig"),
      etcd_data(d + "/etcd"),
      apiserver_cert_dir(d + "/apiserver-certs"),
      controller_manager_cert_dir(d + "/controller-manager-certs"),
      scheduler_cert_dir(d + "/scheduler-certs"),
      flex_volume_dir(d + "/flexvolume") {}

std::vector<std::string> EtcdArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                  const ControlPlanePorts& ports) {
  const std::string client = Url(ports.etcd_client), peer = Url(ports.etcd_peer);
  return {assets.etcd,
          "--name=default",
          "--data-dir=" + files.etcd_data,
          "--listen-client-urls=" + client,
          "--advertise-client-urls=" + client,
          "--listen-peer-urls=" + peer,
          "--initial-advertise-peer-urls=" + peer,
          "--initial-cluster=default=" + peer,
          "--initial-cluster-state=new",
          "--logger=zap"};
}

std::vector<std::string> ApiserverArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                       const ControlPlanePorts& ports, const std::string& bind_address) {
  return {assets.kube_apiserver,
          "--bind-address=" + bind_address,
          "--secure-port=" + std::to_string(ports.apiserver),
          "--etcd-servers=" + Url(ports.etcd_client),
          std::string("--service-cluster-ip-range=") + kServiceClusterIpRange,
          "--authorization-mode=Node,RBAC",
          std::string("--enable-admission-plugins=") + kAdmissionPlugins,
          "--allow-privileged=true",  // as kubeadm's clusters: PodSecurity, not this switch, refuses privileged pods
          "--endpoint-reconciler-type=none",
          std::string("--service-account-issuer=") + kServiceAccountIssuer,
          "--service-account-key-file=" + files.service_account_pub,
          "--service-account-signing-key-file=" + files.service_account_key,
          "--client-ca-file=" + files.ca_cert,
          "--tls-cert-file=" + files.apiserver_cert,
          "--tls-private-key-file=" + files.apiserver_key,
          "--requestheader-client-ca-file=" + files.front_proxy_ca_cert,
          "--requestheader-allowed-names=front-proxy-client",
          "--requestheader-username-headers=X-Remote-User",
          "--requestheader-group-headers=X-Remote-Group",
          "--requestheader-extra-headers-prefix=X-Remote-Extra-",
          "--proxy-client-cert-file=" + files.front_proxy_client_cert,
          "--proxy-client-key-file=" + files.front_proxy_client_key,
          "--kubelet-client-certificate=" + files.kubelet_client_cert,
          "--kubelet-client-key=" + files.kubelet_client_key,
          "--kubelet-certificate-authority=" + files.ca_cert,
          "--kubelet-preferred-address-types=InternalIP",
          "--cert-dir=" + files.apiserver_cert_dir,
          "--profiling=false"};
}

std::vector<std::string> ControllerManagerArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                               const ControlPlanePorts& ports) {
  std::vector<std::string> args = {assets.kube_controller_manager};
  for (std::string& arg : DelegatedServingArgs(files.controller_manager_kubeconfig, ports.controller_manager)) {
    args.push_back(std::move(arg));
  }
  for (std::string arg :
       {"--cert-dir=" + files.controller_manager_cert_dir, std::string("--controllers=*"),
        std::string("--use-service-account-credentials=true"),
        "--service-account-private-key-file=" + files.service_account_key,
        "--root-ca-file=" + files.ca_cert,               // published as kube-root-ca.crt in every namespace
        "--cluster-signing-cert-file=" + files.ca_cert,  // CSRs of kubelets and others
        "--cluster-signing-key-file=" + files.ca_key, "--flex-volume-plugin-dir=" + files.flex_volume_dir}) {
    args.push_back(std::move(arg));
  }
  return args;
}

std::vector<std::string> SchedulerArgs(const ControlPlaneAssets& assets, const ControlPlaneFiles& files,
                                       const ControlPlanePorts& ports) {
  std::vector<std::string> args = {assets.kube_scheduler};
  for (std::string& arg : DelegatedServingArgs(files.scheduler_kubeconfig, ports.scheduler)) {
    args.push_back(std::move(arg));
  }
  args.push_back("--cert-dir=" + files.scheduler_cert_dir);
  return args;
}

std::vector<std::string> ApiserverIpSans(const std::string& bind_address) {
  std::vector<std::string> ips = {"127.0.0.1", kKubernetesServiceIp};
  if (bind_address != "127.0.0.1" && bind_address != kKubernetesServiceIp) ips.push_back(bind_address);
  return ips;
}

std::vector<std::string> ApiserverDnsSans() {
  return {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
          "kubernetes.default.svc.cluster.local"};
}

std::string HttpsUrl(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string KubeconfigYaml(const std::string& server, const std::string& ca_pem, const KubeconfigUser& user) {
  std::string credentials;
  if (!user.client_cert_pem.empty()) {
    credentials = "    client-certificate-data: " + Base64(user.client_cert_pem) +
                  "\n    client-key-data: " + Base64(user.client_key_pem) + "\n";
  } else {
    credentials = "    token: " + Quoted(user.token) + "\n";
  }
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- name: kubecnn-test\n"
         "  cluster:\n"
         "    server: " +
         Quoted(server) +
         "\n"
         "    certificate-authority-data: " +
         Base64(ca_pem) +
         "\n"
         "users:\n"
         "- name: " +
         Quoted(user.name) +
         "\n"
         "  user:\n" +
         credentials +
         "contexts:\n"
         "- name: kubecnn-test\n"
         "  context:\n"
         "    cluster: kubecnn-test\n"
         "    user: " +
         Quoted(user.name) +
         "\n"
         "current-context: kubecnn-test\n";
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    if (arg.find_first_of(" '\"$") == std::string::npos) {
      line += arg;
    } else {
      line += '\'';
      for (const char c : arg) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
      line += '\'';
    }
  }
  return line;
}

}  // namespace kubecnn::testing

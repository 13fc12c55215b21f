// ControlPlane: certificates, ports, the four processes and their readiness probes.
#include "tests/support/control_plane.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace kubecnn::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kPortAttempts = 5;
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kProbeTimeout = std::chrono::seconds(2);

// A component could not listen: another process took a port between our pick and its bind.
class PortTaken : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kernel's picks for port 0 on `address`, all held open together so that they differ, then
// released for the components to bind.
std::vector<int> FreePorts(const std::string& address, int count) {
  std::vector<int> sockets, ports;
  for (int i = 0; i < count; ++i) {
    const bool ipv6 = address.find(':') != std::string::npos;
    const int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (ipv6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
      length = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&storage);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, address.c_str(), &a->sin_addr);
      length = sizeof *a;
    }
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
      const std::string error = std::strerror(errno);
      if (fd >= 0) close(fd);
      for (const int s : sockets) close(s);
      throw std::runtime_error("picking a free port on " + address + ": " + error +
                               " (is it an address of this machine? ControlPlaneOptions::bind_address must be)");
    }
    sockets.push_back(fd);
    ports.push_back(ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                               : reinterpret_cast<sockaddr_in*>(&storage)->sin_port));
  }
  for (const int s : sockets) close(s);
  return ports;
}

ControlPlanePorts PickPorts(const std::string& bind_address) {
  const std::vector<int> loopback = FreePorts("127.0.0.1", 4);
  ControlPlanePorts ports;
  ports.etcd_client = loopback[0];
  ports.etcd_peer = loopback[1];
  ports.controller_manager = loopback[2];
  ports.scheduler = loopback[3];
  do {
    ports.apiserver = FreePorts(bind_address, 1)[0];
  } while (bind_address == "127.0.0.1" &&
           (ports.apiserver == ports.etcd_client || ports.apiserver == ports.etcd_peer ||
            ports.apiserver == ports.controller_manager || ports.apiserver == ports.scheduler));
  return ports;
}

// The last `lines` lines of a log file.
std::string Tail(const std::string& path, size_t lines = 40) {
  std::string text;
  try {
    text = ReadFile(path);
  } catch (const std::exception&) {
    return "(no log at " + path + ")\n";
  }
  size_t start = text.size();
  for (size_t seen = 0; start > 0 && seen <= lines; ++seen) {
    const size_t newline = text.rfind('\n', start - 1);
    if (newline == std::string::npos) return text;
    if (seen == lines) return text.substr(newline + 1);
    start = newline;
  }
  return text.substr(start);
}

std::string ShellQuote(const std::string& text) { return CommandLine({text}); }

std::string Seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

void WriteSecret(const std::string& path, const std::string& bytes) {
  WriteFile(path, bytes);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

}  // namespace

std::string ControlPlane::AssetsProblem() {
  try {
    ControlPlaneAssets::Find();
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

ControlPlane& ControlPlane::Shared() {
  static std::mutex mutex;
  static std::unique_ptr<ControlPlane> shared;  // destroyed, and so stopped, at exit
  static std::string failure;
  std::lock_guard lock(mutex);
  if (!shared && failure.empty()) {
    try {
      shared = std::make_unique<ControlPlane>();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (!shared) throw std::runtime_error(failure);
  return *shared;
}

ControlPlane::ControlPlane(ControlPlaneOptions options)
    : options_(std::move(options)), assets_(ControlPlaneAssets::Find(options_.assets_dir)), files_(scratch_.path()) {
  for (const auto& [component, flags] : options_.extra_flags) {
    if (component != "etcd" && component != "kube-apiserver" && component != "kube-controller-manager" &&
        component != "kube-scheduler") {
      throw std::invalid_argument("ControlPlaneOptions::extra_flags names \"" + component +
                                  "\", which the test control plane does not run (etcd, kube-apiserver, "
                                  "kube-controller-manager, kube-scheduler)");
    }
  }
  for (const std::string& dir :
       {files_.dir + "/pki", files_.dir + "/kubeconfigs", files_.apiserver_cert_dir, files_.controller_manager_cert_dir,
        files_.scheduler_cert_dir, files_.flex_volume_dir}) {
    fs::create_directories(dir);
  }
  WritePki();
  std::string taken;
  for (int attempt = 1; attempt <= kPortAttempts; ++attempt) {
    ports_ = PickPorts(options_.bind_address);
    if (attempt == 1) {
      const ControlPlanePorts& first = options_.first_ports;
      for (auto [chosen, given] :
           {std::pair{&ports_.etcd_client, first.etcd_client}, std::pair{&ports_.etcd_peer, first.etcd_peer},
            std::pair{&ports_.apiserver, first.apiserver},
            std::pair{&ports_.controller_manager, first.controller_manager},
            std::pair{&ports_.scheduler, first.scheduler}}) {
        if (given != 0) *chosen = given;
      }
    }
    server_url_ = HttpsUrl(options_.bind_address, ports_.apiserver);
    WriteKubeconfigs();
    start_attempts_ = attempt;
    try {
      StartAll();
      return;
    } catch (const PortTaken& e) {
      const std::string what = e.what();
      std::fprintf(stderr, "test control plane: a port was taken, starting again on new ones (%s)\n",
                   what.substr(0, what.find('\n')).c_str());
      taken += "\n" + what;
      StopAll();
      fs::remove_all(files_.etcd_data);  // its member record names the old peer port
    } catch (...) {
      StopAll();
      throw;
    }
  }
  throw std::runtime_error("starting the test control plane: a port was taken by another process " +
                           std::to_string(kPortAttempts) + " times in a row; is something binding ports in a loop?" +
                           taken);
}

ControlPlane::~ControlPlane() { StopAll(); }

void ControlPlane::WritePki() {
  ca_ = GenerateCa("kubecnn-test-cluster-ca");
  WriteFile(files_.ca_cert, ca_.cert_pem);
  WriteSecret(files_.ca_key, ca_.key_pem);
  const KeyPair serving =
      IssueServerCert(ca_, "kube-apiserver", ApiserverIpSans(options_.bind_address), ApiserverDnsSans());
  WriteFile(files_.apiserver_cert, serving.cert_pem);
  WriteSecret(files_.apiserver_key, serving.key_pem);
  const SigningKey service_accounts = GenerateSigningKey();
  WriteSecret(files_.service_account_key, service_accounts.private_key_pem);
  WriteFile(files_.service_account_pub, service_accounts.public_key_pem);
  // The aggregation layer's identity towards extension API servers: its own CA, as kubeadm does.
  const KeyPair front_proxy_ca = GenerateCa("kubecnn-test-front-proxy-ca");
  const KeyPair front_proxy_client = IssueClientCert(front_proxy_ca, "front-proxy-client");
  WriteFile(files_.front_proxy_ca_cert, front_proxy_ca.cert_pem);
  WriteFile(files_.front_proxy_client_cert, front_proxy_client.cert_pem);
  WriteSecret(files_.front_proxy_client_key, front_proxy_client.key_pem);
  admin_ = IssueClientCert(ca_, "kubecnn-test-admin", {"system:masters"});
  // kube-apiserver's identity towards kubelets, as kubeadm's apiserver-kubelet-client.
  const KeyPair kubelet_client = IssueClientCert(ca_, "kube-apiserver-kubelet-client", {"system:masters"});
  WriteFile(files_.kubelet_client_cert, kubelet_client.cert_pem);
  WriteSecret(files_.kubelet_client_key, kubelet_client.key_pem);
}

void ControlPlane::WriteKubeconfigs() {
  WriteSecret(files_.admin_kubeconfig,
              KubeconfigYaml(server_url_, ca_.cert_pem, {"kubecnn-test-admin", admin_.cert_pem, admin_.key_pem, ""}));
  for (const auto& [user, path] : {std::pair{"system:kube-controller-manager", files_.controller_manager_kubeconfig},
                                   std::pair{"system:kube-scheduler", files_.scheduler_kubeconfig}}) {
    const KeyPair client = IssueClientCert(ca_, user);
    WriteSecret(path, KubeconfigYaml(server_url_, ca_.cert_pem, {user, client.cert_pem, client.key_pem, ""}));
  }
}

ControlPlane::Component& ControlPlane::Start(const std::string& name, std::vector<std::string> argv) {
  if (auto extra = options_.extra_flags.find(name); extra != options_.extra_flags.end()) {
    argv.insert(argv.end(), extra->second.begin(), extra->second.end());
  }
  auto process = std::make_unique<Process>(argv, files_.Log(name), std::vector<std::string>{},
                                           ProcessOptions{.die_with_parent = true});
  running_.push_back(Component{name, std::move(argv), std::move(process)});
  return running_.back();
}

void ControlPlane::WaitUntil(Component& component, const std::string& what, const std::function<bool()>& probe) {
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  while (true) {
    for (Component& c : running_) {
      const std::optional<int> exit_code = c.process->Wait(std::chrono::milliseconds(0));
      if (!exit_code) continue;
      const std::string tail = Tail(files_.Log(c.name));
      const std::string message = "starting the test control plane in " + files_.dir + ": " + c.name +
                                  " exited with code " + std::to_string(*exit_code) + " while waiting for " + what +
                                  "\ncommand: " + CommandLine(c.argv) + "\nlast lines of " + files_.Log(c.name) +
                                  ":\n" + tail;
      if (tail.find("address already in use") != std::string::npos) throw PortTaken(message);
      throw std::runtime_error(message +
                               (*exit_code == 125 ? "\n(125: the test process went away as it started)" : ""));
    }
    if (probe()) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("starting the test control plane in " + files_.dir + ": no " + what + " after " +
                               std::to_string(options_.ready_timeout.count()) + " s (a machine this loaded? raise " +
                               "ControlPlaneOptions::ready_timeout)\ncommand: " + CommandLine(component.argv) +
                               "\nlast lines of " + files_.Log(component.name) + ":\n" +
                               Tail(files_.Log(component.name)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void ControlPlane::StartAll() {
  const auto begin = std::chrono::steady_clock::now();
  startup_timing_.clear();
  running_.reserve(4);  // Start's references stay valid
  const auto ready = [&](const std::string& name) {
    startup_timing_ +=
        (startup_timing_.empty() ? "" : ", ") + name + " " + Seconds(std::chrono::steady_clock::now() - begin);
  };

  Component& etcd = Start("etcd", EtcdArgs(assets_, files_, ports_));
  // Every probe has a timeout: a port taken by a process that accepts and never answers must not
  // hang the start-up, but fail it when our component exits.
  WaitUntil(etcd, "etcd's /health", [&] {
    const HttpsReply r =
        HttpsGet("http://127.0.0.1:" + std::to_string(ports_.etcd_client) + "/health", {}, kProbeTimeout);
    return r.status == 200 && r.body.find("\"health\":\"true\"") != std::string::npos;
  });
  ready("etcd");

  const TlsClient admin = admin_tls();
  Component& apiserver = Start("kube-apiserver", ApiserverArgs(assets_, files_, ports_, options_.bind_address));
  WaitUntil(apiserver, "kube-apiserver's /readyz",
            [&] { return HttpsGet(server_url_ + "/readyz", admin, kProbeTimeout).status == 200; });
  ready("kube-apiserver");

  // Both controllers at once; each serves /healthz with a self-signed certificate of its own.
  Start("kube-controller-manager", ControllerManagerArgs(assets_, files_, ports_));
  Start("kube-scheduler", SchedulerArgs(assets_, files_, ports_));
  const TlsClient self_signed{"", "", "", true};
  for (const auto& [index, port] : {std::pair{2, ports_.controller_manager}, std::pair{3, ports_.scheduler}}) {
    Component& component = running_[static_cast<size_t>(index)];
    WaitUntil(component, component.name + "'s /healthz", [&, port = port] {
      return HttpsGet(HttpsUrl("127.0.0.1", port) + "/healthz", self_signed, kProbeTimeout).status == 200;
    });
    ready(component.name);
  }
  WaitUntil(running_[2], "the ServiceAccount default/default (made by kube-controller-manager)", [&] {
    return HttpsGet(server_url_ + "/api/v1/namespaces/default/serviceaccounts/default", admin, kProbeTimeout).status ==
           200;
  });
  ready("default ServiceAccount");
}

void ControlPlane::StopAll() {
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    const int exit_code = it->process->Stop(kStopGrace);
    if (exit_code == 128 + SIGKILL) {
      std::fprintf(stderr, "test control plane: %s (pid %d) did not stop in %lld s after SIGTERM; killed\n",
                   it->name.c_str(), static_cast<int>(it->process->pid()),
                   static_cast<long long>(std::chrono::seconds(kStopGrace).count()));
    }
  }
  running_.clear();
}

std::vector<pid_t> ControlPlane::pids() const {
  std::vector<pid_t> out;
  for (const Component& c : running_) out.push_back(c.process->pid());
  return out;
}

std::string ControlPlane::NewFilePath(const std::string& stem, const std::string& extension) {
  std::string safe;
  for (const char c : stem) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  std::lock_guard lock(files_mu_);
  return files_.dir + "/kubeconfigs/" + safe + "-" + std::to_string(++file_counter_) + extension;
}

std::string ControlPlane::KubeconfigFor(const std::string& user, const std::vector<std::string>& groups) {
  const KeyPair client = IssueClientCert(ca_, user, groups);
  const std::string path = NewFilePath(user, ".kubeconfig");
  WriteSecret(path, KubeconfigYaml(server_url_, ca_.cert_pem, {user, client.cert_pem, client.key_pem, ""}));
  return path;
}

std::string ControlPlane::KubeconfigForToken(const std::string& token, const std::string& user_name) {
  const std::string path = NewFilePath(user_name, ".kubeconfig");
  WriteSecret(path, KubeconfigYaml(server_url_, ca_.cert_pem, {user_name, "", "", token}));
  return path;
}

CommandOutcome ControlPlane::Kubectl(const std::string& args, const std::string& input) {
  std::string command = ShellQuote(assets_.kubectl) + " --kubeconfig=" + ShellQuote(admin_kubeconfig()) + " " + args;
  if (!input.empty()) {
    const std::string input_path = NewFilePath("kubectl-input", ".yaml");
    WriteFile(input_path, input);
    command += " < " + ShellQuote(input_path);
  }
  return RunCommand(command);
}

void ControlPlane::CreateNamespace(const std::string& name, const std::map<std::string, std::string>& labels) {
  std::string manifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n";
  if (!labels.empty()) manifest += "  labels:\n";
  for (const auto& [key, value] : labels) manifest += "    " + key + ": \"" + value + "\"\n";
  const CommandOutcome created = Kubectl("create -f -", manifest);
  if (created.exit_code != 0) {
    throw std::runtime_error("creating namespace " + name + " with kubectl failed (exit " +
                             std::to_string(created.exit_code) + "):\n" + created.output);
  }
  const std::string url = server_url_ + "/api/v1/namespaces/" + name + "/serviceaccounts/default";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (HttpsGet(url, admin_tls()).status != 200) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("namespace " + name +
                               ": kube-controller-manager made no default ServiceAccount in 60 s; its log: " +
                               log_path("kube-controller-manager"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace kubecnn::testing

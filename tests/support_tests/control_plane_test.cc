// ControlPlane against the real binaries it starts: version, kubectl, the TrainingJob CRD's schema,
// PodSecurity, garbage collection, GPU scheduling, the Node authorizer, tokens, another bind
// address; and its pure parts (assets lookup, kubeconfig text) without them.
#include "tests/support/control_plane.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/api_error.h"
#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "tests/support/eventually.h"

namespace kubecnn::testing {
namespace {

using nlohmann::json;

const kube::Resource kNodes{"", "v1", "nodes", "Node", false};

std::string SourcePath(const std::string& relative) { return std::string(KUBECNN_SOURCE_DIR) + "/" + relative; }

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A Node as a kubelet registers it: capacity, allocatable and a Ready condition in its status.
json NodeWithGpus(const std::string& name, int gpus) {
  const json resources = {{"cpu", "8"}, {"memory", "32Gi"}, {"pods", "110"}, {"nvidia.com/gpu", std::to_string(gpus)}};
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
          {"status",
           {{"capacity", resources},
            {"allocatable", resources},
            {"conditions",
             {{{"type", "Ready"},
               {"status", "True"},
               {"reason", "KubeletReady"},
               {"message", "kubelet is posting ready status"}}}}}}};
}

json PodAskingForGpus(const std::string& name, int gpus) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"containers",
             {{{"name", "trainer"},
               {"image", "kubecnn/trainer:latest"},
               {"resources", {{"limits", {{"nvidia.com/gpu", std::to_string(gpus)}}}}}}}}}}};
}

TEST(ControlPlaneAssets, FindProblemSaysWhatIsMissingAndHowToGetIt) {
  const auto only = [](std::vector<std::string> present) {
    return [present](const std::string& path) {
      for (const std::string& p : present) {
        if (path == p) return true;
      }
      return false;
    };
  };
  const std::string unset = FindProblem("", only({}));
  EXPECT_TRUE(Contains(unset, "KUBEBUILDER_ASSETS is not set")) << unset;
  EXPECT_TRUE(Contains(unset, "bash scripts/k8s-assets.sh")) << unset;

  const std::string partial = FindProblem("/a", only({"/a/kube-apiserver", "/a/kube-scheduler"}));
  EXPECT_TRUE(Contains(partial, "KUBEBUILDER_ASSETS=/a has no executable kube-controller-manager, etcd")) << partial;

  const std::vector<std::string> binaries = {"/a/kube-apiserver", "/a/kube-controller-manager", "/a/kube-scheduler",
                                             "/a/etcd"};
  EXPECT_TRUE(Contains(FindProblem("/a", only(binaries)), "no kubectl"));
  std::vector<std::string> with_fallback = binaries;
  with_fallback.push_back(ControlPlaneAssets::kFallbackKubectl);
  EXPECT_EQ(FindProblem("/a", only(with_fallback)), "");
  std::vector<std::string> with_kubectl = binaries;
  with_kubectl.push_back("/a/kubectl");
  EXPECT_EQ(FindProblem("/a", only(with_kubectl)), "");
}

TEST(ControlPlaneConfig, KubeconfigsReadBackThroughTheOperatorsParser) {
  const KeyPair ca = GenerateCa("ca");
  const KeyPair node = IssueClientCert(ca, "system:node:n1", {"system:nodes"});
  const auto no_files = [](const std::string& path) -> std::string { throw std::runtime_error("read " + path); };

  const kube::RestConfig by_cert = kube::ParseKubeconfig(
      KubeconfigYaml("https://10.213.0.1:6443", ca.cert_pem, {"system:node:n1", node.cert_pem, node.key_pem, ""}),
      "/x/kubeconfig", "", no_files);
  EXPECT_EQ(by_cert.server, "https://10.213.0.1:6443");
  EXPECT_EQ(by_cert.ca_pem, ca.cert_pem);
  EXPECT_EQ(by_cert.client_cert_pem, node.cert_pem);
  EXPECT_EQ(by_cert.client_key_pem, node.key_pem);
  EXPECT_EQ(by_cert.bearer_token, "");

  const kube::RestConfig by_token = kube::ParseKubeconfig(
      KubeconfigYaml("https://[::1]:6443", ca.cert_pem, {"sa", "", "", "abc.def"}), "/x/kubeconfig", "", no_files);
  EXPECT_EQ(by_token.bearer_token, "abc.def");
  EXPECT_EQ(by_token.client_cert_pem, "");
}

TEST(ControlPlaneConfig, ApiserverListensOnTheBindAddressWhichItsCertificateNames) {
  ControlPlaneAssets assets;
  assets.kube_apiserver = "/a/kube-apiserver";
  ControlPlanePorts ports;
  ports.apiserver = 6443;
  const std::vector<std::string> args = ApiserverArgs(assets, ControlPlaneFiles("/d"), ports, "10.213.0.1");
  EXPECT_EQ(args.front(), "/a/kube-apiserver");
  EXPECT_NE(std::find(args.begin(), args.end(), "--bind-address=10.213.0.1"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--authorization-mode=Node,RBAC"), args.end());
  const std::vector<std::string> ips = ApiserverIpSans("10.213.0.1");
  EXPECT_EQ(ips, (std::vector<std::string>{"127.0.0.1", "10.96.0.1", "10.213.0.1"}));
  EXPECT_EQ(HttpsUrl("10.213.0.1", 6443), "https://10.213.0.1:6443");
  EXPECT_EQ(HttpsUrl("::1", 6443), "https://[::1]:6443");
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_WITHOUT_CONTROL_PLANE();
    plane_ = &ControlPlane::Shared();
  }
  kube::Client AdminClient() const { return kube::Client(kube::LoadRestConfig(plane_->admin_kubeconfig())); }

  ControlPlane* plane_ = nullptr;
};

TEST_F(ControlPlaneTest, ServesKubernetes126AndKubectlListsItsNamespaces) {
  std::cout << "control plane in " << plane_->dir() << " ready after: " << plane_->startup_timing() << "\n";
  const HttpsReply version = HttpsGet(plane_->server_url() + "/version", plane_->admin_tls());
  ASSERT_EQ(version.status, 200) << version.transport_error << version.body;
  const std::string git_version = json::parse(version.body).value("gitVersion", "");
  EXPECT_EQ(git_version.rfind("v1.26.", 0), 0u) << version.body;

  const CommandOutcome namespaces = plane_->Kubectl("get namespaces -o name");
  ASSERT_EQ(namespaces.exit_code, 0) << namespaces.output;
  EXPECT_TRUE(Contains(namespaces.output, "namespace/default")) << namespaces.output;
  EXPECT_TRUE(Contains(namespaces.output, "namespace/kube-system")) << namespaces.output;
}

TEST_F(ControlPlaneTest, PublishesTheClusterCaToEveryNamespace) {
  plane_->CreateNamespace("ca-check");
  kube::Client client = AdminClient();
  std::string published;
  ASSERT_TRUE(Eventually([&] {
    try {
      published = client.Get(kube::resources::kConfigMaps, "ca-check", "kube-root-ca.crt")["data"].value("ca.crt", "");
      return true;
    } catch (const kube::ApiError& e) {
      if (e.code() != 404) throw;
      return false;
    }
  })) << "no ConfigMap kube-root-ca.crt in namespace ca-check after 60 s (kube-controller-manager --root-ca-file)";
  EXPECT_EQ(published, plane_->ca_cert_pem());
}

TEST_F(ControlPlaneTest, TrainingJobCrdAcceptsTheExamplesAndRefusesZeroWorkers) {
  const CommandOutcome crd = plane_->Kubectl("apply -f " + SourcePath("charts/kubecnn/crds"));
  ASSERT_EQ(crd.exit_code, 0) << crd.output;
  const CommandOutcome established =
      plane_->Kubectl("wait --for=condition=Established --timeout=60s crd/trainingjobs.kubecnn.io");
  ASSERT_EQ(established.exit_code, 0) << established.output;
  plane_->CreateNamespace("jobs");

  const CommandOutcome examples =
      plane_->Kubectl("apply --dry-run=server -n jobs -f " + SourcePath("manifests/examples"));
  EXPECT_EQ(examples.exit_code, 0) << examples.output;
  EXPECT_TRUE(Contains(examples.output, "trainingjob.kubecnn.io/fashion-mnist created (server dry run)"))
      << examples.output;

  std::string invalid = ReadFile(SourcePath("manifests/examples/fashion-mnist-cpu.yaml"));
  const size_t workers = invalid.find("workers: 2");
  ASSERT_NE(workers, std::string::npos) << "the example no longer says `workers: 2`; pick another field to break";
  invalid.replace(workers, std::string("workers: 2").size(), "workers: 0");
  const CommandOutcome refused = plane_->Kubectl("apply --dry-run=server -n jobs -f -", invalid);
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_TRUE(Contains(refused.output, "spec.workers: Invalid value: 0")) << refused.output;
  EXPECT_TRUE(Contains(refused.output, "should be greater than or equal to 1")) << refused.output;
}

TEST_F(ControlPlaneTest, RestrictedPodSecurityRefusesAnUnhardenedPodAndAdmitsAHardenedOne) {
  plane_->CreateNamespace("restricted", {{"pod-security.kubernetes.io/enforce", "restricted"}});
  const std::string pod =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: NAME\nspec:\n  containers:\n  - name: trainer\n"
      "    image: kubecnn/trainer:latest\n";
  std::string plain = pod;
  plain.replace(plain.find("NAME"), 4, "plain");
  const CommandOutcome refused = plane_->Kubectl("apply -n restricted -f -", plain);
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_TRUE(Contains(refused.output, "violates PodSecurity \"restricted:latest\"")) << refused.output;

  std::string hardened = pod;
  hardened.replace(hardened.find("NAME"), 4, "hardened");
  hardened +=
      "    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities:\n        drop: [ALL]\n"
      "  securityContext:\n    runAsNonRoot: true\n    runAsUser: 1000\n    seccompProfile:\n"
      "      type: RuntimeDefault\n";
  const CommandOutcome admitted = plane_->Kubectl("apply -n restricted -f -", hardened);
  EXPECT_EQ(admitted.exit_code, 0) << admitted.output;
  EXPECT_EQ(plane_->Kubectl("get pod hardened -n restricted -o name").output, "pod/hardened\n");
}

TEST_F(ControlPlaneTest, GarbageCollectorDeletesWhatADeletedOwnerOwned) {
  plane_->CreateNamespace("gc");
  kube::Client client = AdminClient();
  const json owner = client.Create(kube::resources::kConfigMaps, "gc",
                                   {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "owner"}}}});
  const json reference = {{"apiVersion", "v1"},
                          {"kind", "ConfigMap"},
                          {"name", "owner"},
                          {"uid", owner["metadata"]["uid"]},
                          {"blockOwnerDeletion", true}};
  client.Create(kube::resources::kConfigMaps, "gc",
                {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", {{"name", "dependent"}, {"ownerReferences", json::array({reference})}}}});
  client.Create(kube::resources::kConfigMaps, "gc",
                {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "bystander"}}}});

  client.Delete(kube::resources::kConfigMaps, "gc", "owner");
  const auto gone = [&](const std::string& name) {
    try {
      client.Get(kube::resources::kConfigMaps, "gc", name);
      return false;
    } catch (const kube::ApiError& e) {
      if (e.code() != 404) throw;
      return true;
    }
  };
  EXPECT_TRUE(Eventually([&] { return gone("dependent"); })) << "the dependent ConfigMap outlived its owner by 60 s";
  EXPECT_FALSE(gone("bystander"));
}

TEST_F(ControlPlaneTest, SchedulerBindsAOneGpuPodAndLeavesAFourGpuPodPendingOnATwoGpuNode) {
  plane_->CreateNamespace("scheduling");
  kube::Client client = AdminClient();
  const json node = NodeWithGpus("gpu-node", 2);
  client.Create(kNodes, "", node);
  client.MergePatch(kNodes, "", "gpu-node", {{"status", node["status"]}}, /*status=*/true);  // as a kubelet does
  // The TaintNodesByCondition admission plugin taints every new Node not-ready; the node lifecycle
  // controller lifts it once it reads the Ready condition. Pods scheduled before then are refused
  // for the taint rather than for the GPUs.
  json taints;
  ASSERT_TRUE(Eventually([&] {
    taints = client.Get(kNodes, "", "gpu-node")["spec"].value("taints", json::array());
    return taints.empty();
  })) << "node gpu-node still tainted after 60 s: "
      << taints.dump();
  client.Create(kube::resources::kPods, "scheduling", PodAskingForGpus("one-gpu", 1));
  client.Create(kube::resources::kPods, "scheduling", PodAskingForGpus("four-gpus", 4));

  json one;
  EXPECT_TRUE(Eventually([&] {
    one = client.Get(kube::resources::kPods, "scheduling", "one-gpu");
    return one["spec"].contains("nodeName");
  })) << "not bound in 60 s: "
      << one.dump();
  EXPECT_EQ(one["spec"].value("nodeName", ""), "gpu-node");

  std::string unschedulable;
  EXPECT_TRUE(Eventually([&] {
    const json four = client.Get(kube::resources::kPods, "scheduling", "four-gpus");
    for (const json& condition : four["status"].value("conditions", json::array())) {
      if (condition.value("type", "") == "PodScheduled" && condition.value("status", "") == "False") {
        unschedulable = condition.value("message", "");
      }
    }
    return Contains(unschedulable, "Insufficient nvidia.com/gpu");
  })) << "the 4-GPU pod has no PodScheduled=False condition for its GPUs after 60 s; the last message: "
      << unschedulable;
  EXPECT_FALSE(client.Get(kube::resources::kPods, "scheduling", "four-gpus")["spec"].contains("nodeName"));
}

TEST_F(ControlPlaneTest, NodeCredentialsMayChangeTheirOwnNodeButNotAnother) {
  kube::Client admin = AdminClient();
  admin.Create(kNodes, "", NodeWithGpus("n1", 0));
  admin.Create(kNodes, "", NodeWithGpus("n2", 0));
  kube::Client kubelet(kube::LoadRestConfig(plane_->KubeconfigFor("system:node:n1", {"system:nodes"})));

  EXPECT_EQ(kubelet.Get(kNodes, "", "n1")["metadata"].value("name", ""), "n1");
  const json heartbeat = {
      {"status", {{"conditions", {{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}}}}}}};
  EXPECT_NO_THROW(kubelet.MergePatch(kNodes, "", "n1", heartbeat, /*status=*/true));
  try {
    kubelet.MergePatch(kNodes, "", "n2", heartbeat, /*status=*/true);
    ADD_FAILURE() << "system:node:n1 patched node n2";
  } catch (const kube::ApiError& e) {
    EXPECT_EQ(e.code(), 403) << e.what();
    EXPECT_TRUE(Contains(e.server_message(), "node \"n1\" is not allowed to modify node \"n2\"")) << e.what();
  }
  try {
    kubelet.List(kube::resources::kSecrets, "default");
    ADD_FAILURE() << "system:node:n1 listed secrets";
  } catch (const kube::ApiError& e) {
    EXPECT_EQ(e.code(), 403) << e.what();
  }
}

TEST_F(ControlPlaneTest, ServiceAccountTokenKubeconfigActsAsTheAccount) {
  plane_->CreateNamespace("tokens");
  ASSERT_EQ(plane_->Kubectl("create serviceaccount reader -n tokens").exit_code, 0);
  const CommandOutcome token = plane_->Kubectl("create token reader -n tokens --duration=10m");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  const std::string kubeconfig = plane_->KubeconfigForToken(token.output.substr(0, token.output.find('\n')), "reader");
  const std::string as_reader = plane_->kubectl() + " --kubeconfig=" + kubeconfig + " get pods -n tokens";

  const CommandOutcome forbidden = RunCommand(as_reader);
  EXPECT_NE(forbidden.exit_code, 0);
  EXPECT_TRUE(Contains(forbidden.output, "User \"system:serviceaccount:tokens:reader\" cannot list resource \"pods\""))
      << forbidden.output;

  ASSERT_EQ(
      plane_->Kubectl("create rolebinding reader-view -n tokens --clusterrole=view --serviceaccount=tokens:reader")
          .exit_code,
      0);
  CommandOutcome allowed;
  EXPECT_TRUE(Eventually([&] { return (allowed = RunCommand(as_reader)).exit_code == 0; })) << allowed.output;
}

// A socket listening on `address` (a port another process holds), closed on destruction.
class HeldPort {
 public:
  explicit HeldPort(const std::string& address) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    socklen_t length = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), length) != 0 || listen(fd_, 1) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) != 0) {
      throw std::runtime_error("listening on " + address + ": " + std::strerror(errno));
    }
    port_ = ntohs(a.sin_port);
  }
  ~HeldPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST_F(ControlPlaneTest, AComponentThatFailsIsNamedWithItsCommandAndTheEndOfItsLog) {
  ScratchDir assets;
  for (const std::string name : {"etcd", "kube-controller-manager", "kube-scheduler", "kubectl"}) {
    const std::string& real = name == "etcd"             ? plane_->assets().etcd
                              : name == "kubectl"        ? plane_->kubectl()
                              : name == "kube-scheduler" ? plane_->assets().kube_scheduler
                                                         : plane_->assets().kube_controller_manager;
    ASSERT_EQ(symlink(real.c_str(), (assets / name).c_str()), 0) << std::strerror(errno);
  }
  WriteFile(assets / "kube-apiserver", "#!/bin/sh\necho 'Error: unknown flag: --made-up' >&2\nexit 1\n");
  ASSERT_EQ(chmod((assets / "kube-apiserver").c_str(), 0755), 0);
  ControlPlaneOptions options;
  options.assets_dir = assets.path();
  try {
    ControlPlane broken(options);
    FAIL() << "a control plane whose kube-apiserver exits at once started";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_TRUE(Contains(message, "kube-apiserver exited with code 1 while waiting for kube-apiserver's /readyz"))
        << message;
    EXPECT_TRUE(Contains(message, "command: " + assets.path() + "/kube-apiserver --bind-address=127.0.0.1")) << message;
    EXPECT_TRUE(Contains(message, "Error: unknown flag: --made-up")) << message;
  }
}

TEST_F(ControlPlaneTest, ExtraFlagsForAComponentItDoesNotRunAreRefusedBeforeAnythingStarts) {
  ControlPlaneOptions options;
  options.extra_flags["kube-schedular"] = {"--kube-api-qps=1000"};
  try {
    ControlPlane misspelt(options);
    FAIL() << "a control plane started with extra flags for \"kube-schedular\"";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(Contains(e.what(), "extra_flags names \"kube-schedular\"")) << e.what();
    EXPECT_TRUE(Contains(e.what(), "kube-scheduler)")) << e.what();
  }
}

// The NUL-separated arguments of a running process.
std::vector<std::string> CommandLineOf(pid_t pid) {
  const std::string raw = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  for (size_t start = 0; start < raw.size();) {
    const size_t end = raw.find('\0', start);
    args.push_back(raw.substr(start, end - start));
    start = end == std::string::npos ? raw.size() : end + 1;
  }
  return args;
}

// Last: a second control plane beside the shared one, on another loopback address, whose first
// etcd port is taken (the quickest component to fail; kube-apiserver's clash reads the same, "bind:
// address already in use"), its scheduler given an extra flag; stopped by pid.
TEST_F(ControlPlaneTest, AnotherOnAGivenBindAddressMovesOffATakenPortAndStopsWhenDestroyed) {
  const HeldPort taken("127.0.0.1");
  std::vector<pid_t> pids;
  {
    ControlPlaneOptions options;
    options.bind_address = "127.0.0.2";
    options.first_ports.etcd_client = taken.port();
    options.extra_flags["kube-scheduler"] = {"--kube-api-qps=500", "--kube-api-burst=1000"};
    ControlPlane other(options);
    EXPECT_NE(other.ports().etcd_client, taken.port());
    EXPECT_EQ(other.server_url(), "https://127.0.0.2:" + std::to_string(other.ports().apiserver));
    EXPECT_EQ(other.start_attempts(), 2);
    const CommandOutcome ready = other.Kubectl("get --raw /readyz");  // TLS to 127.0.0.2 checks the SAN
    EXPECT_EQ(ready.exit_code, 0) << ready.output;
    EXPECT_EQ(ready.output, "ok");
    pids = other.pids();
    ASSERT_EQ(pids.size(), 4u);
    const std::vector<std::string> scheduler = CommandLineOf(pids[3]);
    ASSERT_GE(scheduler.size(), 2u);
    EXPECT_EQ(scheduler[scheduler.size() - 2], "--kube-api-qps=500");
    EXPECT_EQ(scheduler.back(), "--kube-api-burst=1000");
    const std::vector<std::string> apiserver = CommandLineOf(pids[1]);
    EXPECT_EQ(std::count(apiserver.begin(), apiserver.end(), "--kube-api-qps=500"), 0);
  }
  for (const pid_t pid : pids) {
    errno = 0;
    EXPECT_EQ(kill(pid, 0), -1) << "pid " << pid << " still exists";
    EXPECT_EQ(errno, ESRCH);
  }
}

}  // namespace
}  // namespace kubecnn::testing

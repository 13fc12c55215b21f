// The images as built, run the way the cluster runs them: scripts/test-images.sh builds them,
// mounts their root filesystems and names them in KUBECNN_E2E_TRAINER_ROOTFS and
// KUBECNN_E2E_OPERATOR_ROOTFS (the tests skip without them). Each command runs in the pod
// sandbox on the image's root, as the user the manifests give it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "operator/controller/builders.h"
#include "operator/controller/ssh_keys.h"
#include "operator/kube/resource.h"
#include "tests/e2e/e2e_cluster.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/http_get.h"
#include "tests/support/process.h"

namespace kubecnn::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSandbox = std::string(KUBECNN_BINARY_DIR) + "/tests/e2e/kubecnn-e2e-pod-sandbox";

std::string RootFs(const char* variable) {
  const char* root = std::getenv(variable);
  return root != nullptr && fs::is_directory(root) ? root : "";
}

// Skips without an image; fails when one is named but pods cannot run here.
#define REQUIRE_IMAGE(variable, root)                                                                 \
  const std::string root = RootFs(variable);                                                          \
  if (root.empty()) GTEST_SKIP() << variable " names no image root (scripts/test-images.sh sets it)"; \
  ASSERT_EQ(NodeUnavailableReason(), "") << "cannot run the image's processes here"

struct InImage {
  std::string root;
  int uid = 0;
  std::vector<std::string> argv;
  json mounts = json::array();
  bool read_only_root = false;
};

// Starts `run` in the sandbox on the node's network; the command's output goes to dir/output.log.
std::unique_ptr<testing::Process> Start(const InImage& run, const std::string& dir) {
  fs::create_directories(dir + "/pod");
  const json spec = {
      {"pod_dir", dir + "/pod"},
      {"lower_root", run.root},
      {"hostname", "image-test"},
      {"mounts", run.mounts},
      {"uid", run.uid},
      {"gid", run.uid},
      {"groups", json::array({run.uid})},
      {"env", json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"})},
      {"read_only_root", run.read_only_root},
      {"argv", run.argv},
      {"log", dir + "/output.log"}};
  std::ofstream(dir + "/spec.json") << spec.dump();
  return std::make_unique<testing::Process>(std::vector<std::string>{kSandbox, dir + "/spec.json"},
                                            dir + "/sandbox.log");
}

struct Ran {
  int exit_code = -1;
  std::string output;
};

Ran RunInImage(const InImage& run, const testing::ScratchDir& scratch, const std::string& name) {
  const std::string dir = scratch / name;
  Ran out;
  out.exit_code = Start(run, dir)->Wait(std::chrono::minutes(5)).value_or(-1);
  out.output = testing::ReadFile(dir + "/output.log");
  return out;
}

TEST(TrainerImage, SshdAcceptsTheOperatorsConfigAndKeysAsUid1000) {
  REQUIRE_IMAGE("KUBECNN_E2E_TRAINER_ROOTFS", root);
  testing::ScratchDir scratch;
  // The job's ConfigMap and Secret as the kubelet lays them out: root-owned, group 1000, 0440.
  const controller::SshKeyPair keys = controller::GenerateSshKeyPair("image-test");
  fs::create_directories(scratch / "ssh");
  const auto write = [](const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ASSERT_EQ(chown(path.c_str(), 0, 1000), 0);
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  };
  write(scratch / "ssh/ssh-privatekey", keys.private_key_pem, 0440);
  write(scratch / "ssh/authorized_keys", keys.public_key + "\n", 0440);
  write(scratch / "sshd_config", controller::SshdConfig(), 0444);
  InImage sshd{root, 1000, {"/usr/sbin/sshd", "-t", "-f", "/etc/kubecnn/sshd_config"}};
  sshd.mounts =
      json::array({{{"source", scratch / "ssh"}, {"target", "/etc/kubecnn/ssh"}, {"read_only", true}},
                   {{"source", scratch / "sshd_config"}, {"target", "/etc/kubecnn/sshd_config"}, {"read_only", true}}});
  const Ran ran = RunInImage(sshd, scratch, "sshd");
  EXPECT_EQ(ran.exit_code, 0) << ran.output;
}

TEST(TrainerImage, HoldsWhatTheOperatorsPodsRun) {
  REQUIRE_IMAGE("KUBECNN_E2E_TRAINER_ROOTFS", root);
  testing::ScratchDir scratch;
  const Ran ran =
      RunInImage({root,
                  1000,
                  {"/bin/sh", "-c",
                   "set -e; mpirun --version; getent passwd 1000; "
                   "for t in /usr/sbin/sshd ssh mpirun orted kubecnn-trainer getent ls cp cat tee grep stat date; do "
                   "command -v $t; done"}},
                 scratch, "tools");
  EXPECT_EQ(ran.exit_code, 0) << ran.output;
  EXPECT_NE(ran.output.find("Open MPI"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find(":1000:"), std::string::npos) << ran.output;
}

TEST(TrainerImage, BenchTrainsOnSyntheticData) {
  REQUIRE_IMAGE("KUBECNN_E2E_TRAINER_ROOTFS", root);
  testing::ScratchDir scratch;
  const Ran ran = RunInImage(
      {root,
       1000,
       {"kubecnn-trainer", "bench", "--model=resnet18", "--image_size=64", "--batch_size=8", "--num_batches=5"}},
      scratch, "bench");
  EXPECT_EQ(ran.exit_code, 0) << ran.output;
  EXPECT_NE(ran.output.find("images/s"), std::string::npos) << ran.output;
  std::printf(
      "%s",
      ran.output.substr(ran.output.rfind("bench:") == std::string::npos ? 0 : ran.output.rfind("bench:")).c_str());
}

TEST(OperatorImage, ServesHealthReadinessAndReconcilesUnderAReadOnlyRootAsUid65532) {
  REQUIRE_IMAGE("KUBECNN_E2E_OPERATOR_ROOTFS", root);
  testing::ScratchDir scratch;
  testing::FakeApiServer server;
  testing::WriteFile(scratch / "kubeconfig", server.Kubeconfig("token: operator", "kubecnn-system"));
  ASSERT_EQ(chmod((scratch / "kubeconfig").c_str(), 0444), 0);
  const int health = testing::FreePort();
  int metrics = testing::FreePort();
  while (metrics == health) metrics = testing::FreePort();
  // The Deployment's flags (manifests/operator/deployment.yaml), on free ports.
  InImage op{root,
             65532,
             {"/usr/local/bin/kubecnn-operator", "--kubeconfig=/etc/kubecnn-test/kubeconfig", "--leader_elect=true",
              "--namespace=kubecnn-system", "--health_port=" + std::to_string(health),
              "--metrics_port=" + std::to_string(metrics), "--concurrency=4"}};
  op.read_only_root = true;
  op.mounts = json::array(
      {{{"source", scratch / "kubeconfig"}, {"target", "/etc/kubecnn-test/kubeconfig"}, {"read_only", true}}});
  const std::unique_ptr<testing::Process> sandbox = Start(op, scratch / "operator");

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int healthz = 0, readyz = 0;
  while (std::chrono::steady_clock::now() < deadline && (healthz != 200 || readyz != 200)) {
    try {
      healthz = testing::HttpGet(health, "/healthz").status;
      readyz = testing::HttpGet(health, "/readyz").status;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(healthz, 200) << testing::ReadFile(scratch / "operator/output.log");
  EXPECT_EQ(readyz, 200);
  EXPECT_EQ(testing::HttpGet(metrics, "/metrics").status, 200);

  // It leads and reconciles: a TrainingJob gets its headless Service.
  json job = FashionMnistJob("from-image", 1, 10);
  job["metadata"]["namespace"] = "default";
  const auto& kinds = *testing::FindKind("kubecnn.io", "v1alpha1", "trainingjobs");
  server.store().Create(kinds, "default", job);
  bool reconciled = false;
  for (int i = 0; i < 300 && !reconciled; ++i) {
    try {
      server.store().Get(*testing::FindKind("", "v1", "services"), "default", "from-image");
      reconciled = true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(reconciled) << testing::ReadFile(scratch / "operator/output.log");
  sandbox->Signal(SIGTERM);  // the sandbox stops the pod
  sandbox->Wait(std::chrono::seconds(30));
}

}  // namespace
}  // namespace kubecnn::e2e

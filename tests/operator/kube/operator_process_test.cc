// Two real kubecnn-operator processes (the built binary) against one fake API server: exactly one
// holds the Lease; SIGTERM to the leader releases it and the other takes over within the lease
// duration; the stopped process exits 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_apiserver.h"
#include "tests/support/http_get.h"
#include "tests/support/process.h"
#include "tests/support/test_files.h"

namespace kubecnn::kube {
namespace {

using std::chrono::milliseconds;
using testing::FakeApiServer;

const char* kOperator = KUBECNN_BINARY_DIR "/operator/kubecnn-operator";
constexpr int kLeaseSeconds = 2;

pid_t StartOperator(const std::string& kubeconfig, const std::string& identity, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stderr);
    (void)out;
    const std::vector<std::string> args = {kOperator,
                                           "--kubeconfig=" + kubeconfig,
                                           "--namespace=ops",
                                           "--identity=" + identity,
                                           "--lease_duration=" + std::to_string(kLeaseSeconds),
                                           "--renew_deadline=1.5",
                                           "--retry_period=0.2",
                                           "--health_port=0",
                                           "--metrics_port=0",
                                           "--kube_api_qps=0"};
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(kOperator, argv.data());
    _exit(127);
  }
  return pid;
}

std::string Holder(FakeApiServer& server) {
  try {
    const auto& leases = *testing::FindKind("coordination.k8s.io", "v1", "leases");
    return server.store().Get(leases, "ops", "kubecnn-operator")["spec"].value("holderIdentity", "");
  } catch (const std::exception&) {
    return "";
  }
}

std::string WaitForHolder(FakeApiServer& server, const std::string& not_this, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string h = Holder(server);
    if (!h.empty() && h != not_this) return h;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return "";
}

TEST(OperatorProcesses, ExactlyOneLeadsAndTheOtherTakesOverAfterSigterm) {
  ASSERT_EQ(access(kOperator, X_OK), 0) << kOperator << " is not built (ninja kubecnn-operator)";
  FakeApiServer server;
  testing::ScratchDir dir;
  testing::WriteFile(dir / "kubeconfig", server.Kubeconfig("token: operator"));
  const pid_t a = StartOperator(dir / "kubeconfig", "replica-a", dir / "a.log");
  const pid_t b = StartOperator(dir / "kubeconfig", "replica-b", dir / "b.log");
  const std::string leader = WaitForHolder(server, "", milliseconds(10000));
  ASSERT_TRUE(leader == "replica-a" || leader == "replica-b")
      << "no leader; logs:\n"
      << testing::ReadFile(dir / "a.log") << testing::ReadFile(dir / "b.log");
  // Over several renewals (each moves renewTime; counted, not slept through) the lease never
  // changes hands while the leader lives.
  std::set<std::string> renewals;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (renewals.size() < 5 && std::chrono::steady_clock::now() < until) {
    const auto& leases = *testing::FindKind("coordination.k8s.io", "v1", "leases");
    const nlohmann::json spec = server.store().Get(leases, "ops", "kubecnn-operator")["spec"];
    EXPECT_EQ(spec.value("holderIdentity", ""), leader);
    renewals.insert(spec.value("renewTime", ""));
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_GE(renewals.size(), 5u) << "the leader renews every retry period";
  const pid_t leader_pid = leader == "replica-a" ? a : b;
  const pid_t standby_pid = leader == "replica-a" ? b : a;
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(leader_pid, SIGTERM), 0);
  const std::string next = WaitForHolder(server, leader, milliseconds(kLeaseSeconds * 1000 + 1000));
  const auto took = std::chrono::steady_clock::now() - stopped;
  EXPECT_EQ(next, leader == "replica-a" ? "replica-b" : "replica-a");
  EXPECT_LT(took, std::chrono::seconds(kLeaseSeconds)) << "the standby takes over within the lease duration";
  int status = 0;
  ASSERT_EQ(waitpid(leader_pid, &status, 0), leader_pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a SIGTERM'd leader exits cleanly";
  kill(standby_pid, SIGTERM);
  ASSERT_EQ(waitpid(standby_pid, &status, 0), standby_pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << testing::ReadFile(dir / (leader == "replica-a" ? "b.log" : "a.log"));
}

// Runs the operator binary with `args` to its exit; returns (exit code, output).
std::pair<int, std::string> RunOperator(const std::vector<std::string>& args, const std::string& log) {
  std::string command = kOperator;
  for (const std::string& a : args) command += " '" + a + "'";
  const int status = std::system((command + " >" + log + " 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, testing::ReadFile(log)};
}

TEST(OperatorProcesses, MalformedFlagsExitTwoNamingTheFlagBeforeConnecting) {
  testing::ScratchDir dir;
  for (const std::string bad : {"--leader_elect=maybe", "--health_port=70000", "--metrics_port=-1", "--health_port=80x",
                                "--restart_backoff=0.5"}) {
    const auto [code, output] = RunOperator({"--kubeconfig=" + dir / "missing-kubeconfig", bad}, dir / "out.log");
    EXPECT_EQ(code, 2) << bad << ": " << output;
    EXPECT_NE(output.find(bad), std::string::npos) << output;
    EXPECT_EQ(output.find("missing-kubeconfig"), std::string::npos) << "flags are checked first: " << output;
  }
}

// --leader_elect=1 used to switch leader election off (only "true" meant on): with two replicas,
// both would reconcile.
TEST(OperatorProcesses, LeaderElectOneTakesPartInTheElection) {
  FakeApiServer server;
  testing::ScratchDir dir;
  testing::WriteFile(dir / "kubeconfig", server.Kubeconfig("token: operator"));
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::freopen((dir / "op.log").c_str(), "w", stderr);
    (void)out;
    const std::string kubeconfig = "--kubeconfig=" + dir / "kubeconfig";
    execl(kOperator, kOperator, kubeconfig.c_str(), "--namespace=ops", "--identity=replica-1", "--leader_elect=1",
          "--lease_duration=2", "--renew_deadline=1.5", "--retry_period=0.2", "--health_port=0", "--metrics_port=0",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_EQ(WaitForHolder(server, "", milliseconds(10000)), "replica-1") << testing::ReadFile(dir / "op.log");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

// /readyz means "caches synced and the API server answered recently": it used to stay 200 once the
// caches had synced, whatever became of the API server.
TEST(OperatorProcesses, ReadinessFailsOnceTheApiServerStopsAnswering) {
  auto server = std::make_unique<FakeApiServer>();
  testing::ScratchDir dir;
  testing::WriteFile(dir / "kubeconfig", server->Kubeconfig("token: operator"));
  const int health = testing::FreePort();
  testing::Process op({kOperator, "--kubeconfig=" + dir / "kubeconfig", "--namespace=ops", "--leader_elect=false",
                       "--health_port=" + std::to_string(health), "--metrics_port=0", "--api_unreachable_after=2"},
                      dir / "op.log");
  ASSERT_TRUE(testing::GetWhileRunning(op, health, "/readyz", "", std::chrono::seconds(10))) << op.output();
  server.reset();  // the API server goes away; the caches stay synced
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  testing::HttpResponse ready{200, ""};
  while (ready.status == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
    ready = testing::HttpGet(health, "/readyz");
  }
  EXPECT_EQ(ready.status, 503) << op.output();
  EXPECT_NE(ready.body.find("no answer from the API server"), std::string::npos) << ready.body;
  EXPECT_EQ(testing::HttpGet(health, "/healthz").status, 200) << "alive: a restart would not bring the API back";
}

// Run by hand, outside a pod and with neither --kubeconfig nor $KUBECONFIG, the operator uses
// ~/.kube/config, as controller-runtime's operators do; without that file it exits saying what to do.
TEST(OperatorProcesses, OutsideAPodWithoutFlagOrVariableItUsesTheHomeKubeconfig) {
  FakeApiServer server;
  testing::ScratchDir home;
  std::filesystem::create_directories(home / ".kube");
  testing::WriteFile(home / ".kube/config", server.Kubeconfig("token: operator"));
  const std::vector<std::string> env = {"HOME=" + home.path(), "KUBECONFIG=", "KUBERNETES_SERVICE_HOST="};
  const int health = testing::FreePort();
  testing::Process op({kOperator, "--namespace=ops", "--leader_elect=false", "--health_port=" + std::to_string(health),
                       "--metrics_port=0"},
                      home / "op.log", env);
  ASSERT_TRUE(testing::GetWhileRunning(op, health, "/readyz", "", std::chrono::seconds(10))) << op.output();
  op.Signal(SIGTERM);
  EXPECT_EQ(op.Wait(std::chrono::seconds(10)), 0) << op.output();

  testing::ScratchDir empty_home;
  testing::Process lost({kOperator, "--namespace=ops", "--leader_elect=false", "--health_port=0", "--metrics_port=0"},
                        empty_home / "op.log",
                        {"HOME=" + empty_home.path(), "KUBECONFIG=", "KUBERNETES_SERVICE_HOST="});
  const std::optional<int> code = lost.Wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << lost.output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(lost.output().find("create ~/.kube/config"), std::string::npos) << lost.output();
}

}  // namespace
}  // namespace kubecnn::kube

// The user's session end to end: `kubectl kubecnn run` with a one-machine mpiexec command line,
// `watch` until it is evaluated, `eval` of its checkpoint, `list` and `describe`, and `logs -f`
// following a job's launcher across a gang restart — the built plugin run by the real kubectl (found
// on PATH) against the whole e2e cluster (real control plane, the operator from the chart, sshd,
// mpirun and kubecnn-trainer in pods). Logs come the way a cluster's do: kube-apiserver's pods/log
// asks the node's kubelet log API (tests/e2e/kubelet_log_server.h) over HTTPS. Each command and its
// output are printed as a terminal shows them.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "tests/e2e/e2e_cluster.h"

namespace kubecnn::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool HasCheckpoint(const std::string& log_dir) {
  std::error_code error;
  for (const auto& e : fs::directory_iterator(log_dir, error)) {
    if (std::regex_match(e.path().filename().string(), std::regex(R"(model\.ckpt-\d+\.pt)"))) return true;
  }
  return false;
}

// SIGKILLs the kubecnn-trainer processes of the running pod `pod_name`; how many it killed.
int KillTrainerOf(E2eCluster& cluster, const std::string& pod_name) {
  int killed = 0;
  for (const RunningPod& pod : PodsNamed(cluster, pod_name)) {
    if (pod.finished) continue;
    for (const int pid : cluster.node().ProcessesOf(pod)) {
      if (testing::ReadFile("/proc/" + std::to_string(pid) + "/comm").rfind("kubecnn-trainer", 0) == 0) {
        killed += ::kill(pid, SIGKILL) == 0;
      }
    }
  }
  return killed;
}

class PluginE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_REQUIRE_E2E_NODE();
    MakeShards(data_.path());
  }

  // The shell line of `kubectl kubecnn ARGS` through the real kubectl, the plugin on PATH.
  static std::string KubecnnLine(E2eCluster& cluster, const std::string& args) {
    const std::string kubectl = cluster.control_plane().kubectl();
    const std::string path = std::string(KUBECNN_BINARY_DIR) +
                             "/operator/plugin:" + kubectl.substr(0, kubectl.rfind('/')) + ":/usr/bin:/bin";
    return "cd / && PATH=" + path + " KUBECONFIG=" + cluster.control_plane().admin_kubeconfig() +
           " exec kubectl kubecnn " + args + " 2>&1";
  }

  // `kubectl kubecnn ARGS`, printed as typed and answered.
  testing::CommandOutcome Kubecnn(E2eCluster& cluster, const std::string& args) {
    const testing::CommandOutcome r = testing::RunCommand(KubecnnLine(cluster, args));
    std::printf("$ kubectl kubecnn %s\n%s[exit %d]\n", args.c_str(), r.output.c_str(), r.exit_code);
    std::fflush(stdout);
    return r;
  }

  testing::ScratchDir data_;
};

TEST_F(PluginE2e, RunWatchEvalFromTheSeedsCommandLine) {
  E2eCluster cluster(data_.path());
  const testing::CommandOutcome run = Kubecnn(
      cluster,
      "run fmnist -n ml --image=kubecnn/trainer:e2e --workers=2 --data=fmnist-shards --checkpoints=checkpoints "
      "--evaluate -- mpiexec -np 2 kubecnn-trainer --model=tiny --num_classes=10 --batch_size=16 --num_batches=300 "
      "--learning_rate=0.05 --display_every=10 --num_data_threads=1 --image_size=32");
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.output, "trainingjob.kubecnn.io/fmnist created\nFollow it with: kubectl kubecnn watch fmnist -n ml\n");

  const testing::CommandOutcome watch = Kubecnn(cluster, "watch fmnist -n ml");
  ASSERT_EQ(watch.exit_code, 0) << cluster.Diagnostics();
  EXPECT_TRUE(std::regex_search(watch.output, std::regex(R"(fmnist  Running  step \d+/300 .* restarts 0\n)")))
      << watch.output;
  std::smatch trained;
  ASSERT_TRUE(std::regex_search(
      watch.output, trained,
      std::regex(R"(fmnist Succeeded in \S+: top-1 (\d+\.\d\d)%, top-5 (\d+\.\d\d)% \(\d+ images, step 300\)\n$)")))
      << watch.output;

  const testing::CommandOutcome eval = Kubecnn(cluster, "eval fmnist -n ml");
  ASSERT_EQ(eval.exit_code, 0) << cluster.Diagnostics();
  std::smatch scored;
  ASSERT_TRUE(std::regex_search(eval.output, scored,
                                std::regex(R"(fmnist-eval Succeeded in \S+: top-1 (\d+\.\d\d)%, top-5 (\d+\.\d\d)%)")))
      << eval.output;
  EXPECT_EQ(scored[1].str(), trained[1].str()) << "the same checkpoint on the same images";
  EXPECT_EQ(scored[2].str(), trained[2].str());

  const testing::CommandOutcome list = Kubecnn(cluster, "list -n ml");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_TRUE(std::regex_search(list.output, std::regex(R"(fmnist-eval\s+Succeeded\s)"))) << list.output;
  const testing::CommandOutcome describe = Kubecnn(cluster, "describe fmnist -n ml");
  EXPECT_EQ(describe.exit_code, 0);
  EXPECT_TRUE(std::regex_search(describe.output, std::regex(R"(Normal\s+EvaluationSucceeded)"))) << describe.output;
  EXPECT_NE(describe.output.find("Launcher:     mpirun --hostfile /etc/kubecnn/hostfile -np 2 "), std::string::npos)
      << describe.output;
}

// `logs -f`, started with the job, prints the first launcher's log, then, after a killed trainer
// makes the operator restart the gang, a line saying it switches and the second launcher's log to
// the end of training, and exits 0 when the job has succeeded. Every byte comes through
// kube-apiserver's pods/log from the node's kubelet log API; the first gang's launcher stays for
// `logs --previous`.
TEST_F(PluginE2e, LogsFollowsTheLauncherAcrossAGangRestartToTheEndOfTraining) {
  E2eCluster cluster(data_.path());
  json job = FashionMnistJob("relog", 2, 2000);
  job["spec"]["trainer"]["saveIntervalSeconds"] = 1;
  job["spec"]["evaluation"]["enabled"] = false;
  cluster.Apply(job);
  const std::string follow_args = "logs relog -n ml -f";
  testing::ScratchDir scratch;
  testing::Process follower({"sh", "-c", KubecnnLine(cluster, follow_args)}, scratch / "logs-f.out");

  // Once the first gang has written a checkpoint and the follower has shown some of its log:
  // SIGKILL worker-1's trainer.
  const std::string log_dir = cluster.checkpoint_dir() + "/relog";
  cluster.WaitFor(
      "relog",
      [&](const json& j) {
        return j.value("status", json::object()).value("phase", "") == "Running" && HasCheckpoint(log_dir) &&
               follower.output().find("Steps:") != std::string::npos;
      },
      std::chrono::seconds(300));
  ASSERT_EQ(KillTrainerOf(cluster, "relog-worker-1"), 1) << cluster.Diagnostics();
  std::printf("=== killed worker-1's trainer; the follower had %zu bytes\n", follower.output().size());

  const json done = cluster.WaitFor(
      "relog",
      [](const json& j) {
        const std::string phase = j.value("status", json::object()).value("phase", "");
        return phase == "Succeeded" || phase == "Failed";
      },
      std::chrono::seconds(300));
  ASSERT_EQ(done["status"].value("phase", ""), "Succeeded") << cluster.Diagnostics();
  EXPECT_EQ(done["status"].value("restarts", -1), 1);
  const std::optional<int> exit_code = follower.Wait(std::chrono::seconds(60));
  const std::string followed = follower.output();
  std::printf("$ kubectl kubecnn %s   (started with the job)\n%s[exit %d]\n", follow_args.c_str(), followed.c_str(),
              exit_code.value_or(-1));
  std::fflush(stdout);
  EXPECT_EQ(exit_code, 0) << "logs -f ends with the job";

  // The follower's output is the first launcher's whole log, the switch, the second launcher's
  // whole log: the node's log files of relog-launcher and relog-launcher-1.
  const std::vector<RunningPod> first_launcher = PodsNamed(cluster, "relog-launcher");
  const std::vector<RunningPod> second_launcher = PodsNamed(cluster, "relog-launcher-1");
  ASSERT_EQ(first_launcher.size(), 1u) << cluster.Diagnostics();
  ASSERT_EQ(second_launcher.size(), 1u) << cluster.Diagnostics();
  const std::string first = testing::ReadFile(first_launcher[0].log);
  const std::string second = testing::ReadFile(second_launcher[0].log);
  const std::string marker = "--- kubectl kubecnn: gang attempt 1, launcher relog-launcher-1 ---\n";
  const size_t at = followed.find(marker);
  ASSERT_NE(at, std::string::npos) << followed;
  EXPECT_EQ(followed.substr(0, at), first);
  EXPECT_EQ(followed.substr(at + marker.size()), second);
  EXPECT_NE(first.find("Steps:"), std::string::npos) << "the first gang trained before it was killed";
  EXPECT_TRUE(std::regex_search(second, std::regex(R"(Steps:\s+\d+ \(from [1-9]\d*\))"))) << "the second resumed";

  // The finished job's log is the last launcher's, which cleanPodPolicy Running keeps.
  const testing::CommandOutcome finished = Kubecnn(cluster, "logs relog -n ml");
  EXPECT_EQ(finished.exit_code, 0);
  EXPECT_EQ(finished.output, second);
  // The first gang's launcher had failed when the operator restarted the gang, so it stayed (it
  // holds nothing but its log): --previous and --attempt 0 print it.
  const testing::CommandOutcome previous = Kubecnn(cluster, "logs relog -n ml --previous");
  EXPECT_EQ(previous.exit_code, 0);
  EXPECT_EQ(previous.output, first);
  const testing::CommandOutcome attempt = Kubecnn(cluster, "logs relog -n ml --attempt 0");
  EXPECT_EQ(attempt.exit_code, 0);
  EXPECT_EQ(attempt.output, first);

  // Plain kubectl reads the same path: --tail and --limit-bytes reach the node's log API as the
  // kubelet's tailLines and limitBytes, and --previous gets the kubelet's answer for a container
  // that ran once.
  const testing::CommandOutcome tail = cluster.Kubectl("logs relog-launcher-1 -n ml --tail=3");
  EXPECT_EQ(tail.exit_code, 0);
  EXPECT_TRUE(std::regex_match(tail.output, std::regex(R"(-{64}\nImages/sec: [^\n]+\n-{64}\n)"))) << tail.output;
  const testing::CommandOutcome head = cluster.Kubectl("logs relog-launcher-1 -n ml --limit-bytes=40");
  EXPECT_EQ(head.exit_code, 0);
  EXPECT_EQ(head.output, second.substr(0, 40));
  const testing::CommandOutcome restarted = cluster.Kubectl("logs relog-launcher-1 -n ml --previous");
  EXPECT_NE(restarted.exit_code, 0);
  EXPECT_TRUE(std::regex_search(restarted.output, std::regex(R"(previous terminated container "\w+" in pod )"
                                                             R"("relog-launcher-1" not found)")))
      << restarted.output;
}

}  // namespace
}  // namespace kubecnn::e2e

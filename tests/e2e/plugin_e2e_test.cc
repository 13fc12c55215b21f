// The user's session end to end: `kubectl kubecnn run` with a one-machine mpiexec command line,
// `watch` until it is evaluated, `eval` of its checkpoint, `list` and `describe` — the
// built plugin run by the real kubectl (found on PATH) against the whole e2e cluster (real control
// plane, the operator from the chart, sshd, mpirun and kubecnn-trainer in pods). Each command and
// its output are printed as a terminal shows them. (`logs` is not here: the e2e node serves no
// kubelet log endpoint; tests/operator/plugin follows logs across a gang restart on the fixture.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "tests/e2e/e2e_cluster.h"

namespace kubecnn::e2e {
namespace {

using nlohmann::json;

class PluginE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_REQUIRE_E2E_NODE();
    MakeShards(data_.path());
  }

  // `kubectl kubecnn ARGS` through the real kubectl, the plugin on PATH, printed as typed and answered.
  testing::CommandOutcome Kubecnn(E2eCluster& cluster, const std::string& args) {
    const std::string kubectl = cluster.control_plane().kubectl();
    const std::string path = std::string(KUBECNN_BINARY_DIR) +
                             "/operator/plugin:" + kubectl.substr(0, kubectl.rfind('/')) + ":/usr/bin:/bin";
    const testing::CommandOutcome r =
        testing::RunCommand("cd / && PATH=" + path + " KUBECONFIG=" + cluster.control_plane().admin_kubeconfig() +
                            " kubectl kubecnn " + args + " 2>&1");
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

}  // namespace
}  // namespace kubecnn::e2e

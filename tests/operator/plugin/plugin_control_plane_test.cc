// kubectl-kubecnn, the built binary, against a real control plane: the seed's command lines as
// --dry-run YAML that kubectl applies to the real CRD, kubectl's own errors and exit codes for a
// job that does not exist and a namespace the user may not read, discovery as `kubectl kubecnn`,
// and watch piped and in a real terminal (tmux) while the job's status changes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/resource.h"
#include "tests/support/control_plane.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/test_files.h"

namespace kubecnn::plugin {
namespace {

using nlohmann::json;
using testing::CommandOutcome;
using testing::ControlPlane;

std::string SourcePath(const std::string& relative) { return std::string(KUBECNN_SOURCE_DIR) + "/" + relative; }
std::string PluginDir() { return std::string(KUBECNN_BINARY_DIR) + "/operator/plugin"; }
std::string PluginPath() { return PluginDir() + "/kubectl-kubecnn"; }

using ::kubecnn::testing::Eventually;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* kResNet50 =
    "--image=kubecnn/trainer:latest --gpus-per-worker=8 --data=imagenet-tfrecords --checkpoints=kubecnn-checkpoints "
    "--evaluate -- mpiexec -np 32 python nvcnn_hvd.py --model=resnet50 --data_dir=/data/imagenet --batch_size=256 "
    "--fp16 --larc_mode=clip --larc_eta=0.003 --loss_scale=128 --log_dir=/checkpoints/resnet50 --save_interval=3600 "
    "--num_epochs=90 --display_every=100 --learning_rate=2.0";
const char* kInception3 =
    "--image=kubecnn/trainer:latest --workers=2 --gpus-per-worker=8 --data=imagenet-tfrecords "
    "--checkpoints=kubecnn-checkpoints --gang=Volcano -- mpiexec -np 16 python nvcnn_hvd.py --model=inception3 "
    "--data_dir=/data/imagenet --batch_size=128 --fp16 --larc_mode=clip --larc_eta=0.003 --loss_scale=128 "
    "--log_dir=/checkpoints/inception3 --save_interval=3600 --num_epochs=90 --display_every=100 --learning_rate=1.0";

class PluginOnControlPlane : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!ControlPlane::AssetsProblem().empty()) return;
    ControlPlane& plane = ControlPlane::Shared();
    const CommandOutcome crd = plane.Kubectl("apply -f " + SourcePath("charts/kubecnn/crds"));
    ASSERT_EQ(crd.exit_code, 0) << crd.output;
    const CommandOutcome established =
        plane.Kubectl("wait --for=condition=Established --timeout=60s crd/trainingjobs.kubecnn.io");
    ASSERT_EQ(established.exit_code, 0) << established.output;
    plane.CreateNamespace("plugin");
  }
  void SetUp() override {
    KUBECNN_SKIP_WITHOUT_CONTROL_PLANE();
    plane_ = &ControlPlane::Shared();
  }
  // The plugin as the admin, in namespace `plugin`.
  CommandOutcome RunPlugin(const std::string& args) {
    return testing::RunCommand(PluginPath() + " --kubeconfig=" + plane_->admin_kubeconfig() + " -n plugin " + args +
                               " 2>&1");
  }
  kube::Client Admin() const { return kube::Client(kube::LoadRestConfig(plane_->admin_kubeconfig())); }
  void SetStatus(kube::Client& client, const std::string& name, const json& status) {
    client.MergePatch(kube::resources::kTrainingJobs, "plugin", name, {{"status", status}}, true);
  }

  ControlPlane* plane_ = nullptr;
};

TEST_F(PluginOnControlPlane, DryRunYamlOfTheSeedCommandLinesIsAcceptedByTheRealCrd) {
  for (const auto& [name, line] :
       std::vector<std::pair<std::string, std::string>>{{"resnet50", kResNet50}, {"inception3", kInception3}}) {
    const CommandOutcome yaml =
        testing::RunCommand(PluginPath() + " run " + name + " -n plugin --dry-run=client -o yaml " + line);
    ASSERT_EQ(yaml.exit_code, 0) << yaml.output;
    const CommandOutcome applied = plane_->Kubectl("apply -f -", yaml.output);
    ASSERT_EQ(applied.exit_code, 0) << applied.output << "\n" << yaml.output;
    EXPECT_EQ(applied.output, "trainingjob.kubecnn.io/" + name + " created\n");
    const json stored = Admin().Get(kube::resources::kTrainingJobs, "plugin", name);
    const CommandOutcome printed =
        testing::RunCommand(PluginPath() + " run " + name + " -n plugin --dry-run=client -o json " + line);
    const json expected = json::parse(printed.output);
    // The CRD's schema keeps every field (none pruned); it only adds its defaults.
    EXPECT_EQ(stored["spec"]["trainer"], expected["spec"]["trainer"]);
    EXPECT_EQ(stored["spec"]["volumes"], expected["spec"]["volumes"]);
    EXPECT_EQ(stored["spec"]["resources"], expected["spec"]["resources"]);
    EXPECT_EQ(stored["metadata"]["annotations"]["kubecnn.io/command-line"],
              expected["metadata"]["annotations"]["kubecnn.io/command-line"]);
    EXPECT_EQ(plane_->Kubectl("delete trainingjob -n plugin " + name).exit_code, 0);
  }
}

TEST_F(PluginOnControlPlane, RunPrintsTheCreatedObjectAsKubectlDoes) {
  const CommandOutcome created = RunPlugin(
      "run printed --image=kubecnn/trainer:latest --checkpoints=runs -o yaml -- --model=tiny --num_batches=5");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_TRUE(Contains(created.output, "  uid: ")) << created.output;          // the server's answer, not the request
  EXPECT_TRUE(Contains(created.output, "  mode: Train\n")) << created.output;  // with the CRD's defaults
  EXPECT_FALSE(Contains(created.output, "managedFields")) << created.output;
}

// The same request through kubectl and through the plugin fails with the same line and code.
TEST_F(PluginOnControlPlane, ErrorsAreKubectlsLineAndExitCode) {
  const std::string alice = plane_->KubeconfigFor("alice");
  const CommandOutcome kubectl_forbidden =
      testing::RunCommand(plane_->kubectl() + " --kubeconfig=" + alice + " get trainingjobs -n kube-system 2>&1");
  const CommandOutcome ours_forbidden =
      testing::RunCommand(PluginPath() + " list --kubeconfig=" + alice + " -n kube-system 2>&1");
  EXPECT_EQ(ours_forbidden.exit_code, 1);
  EXPECT_EQ(ours_forbidden.exit_code, kubectl_forbidden.exit_code);
  EXPECT_EQ(ours_forbidden.output, kubectl_forbidden.output);
  EXPECT_TRUE(Contains(ours_forbidden.output, "Error from server (Forbidden): trainingjobs.kubecnn.io is forbidden"))
      << ours_forbidden.output;

  const CommandOutcome kubectl_missing = plane_->Kubectl("get trainingjob nope -n plugin 2>&1");
  for (const std::string command : {"watch", "describe", "logs", "eval"}) {
    const CommandOutcome ours = RunPlugin(command + " nope");
    EXPECT_EQ(ours.exit_code, kubectl_missing.exit_code) << command;
    EXPECT_EQ(ours.output, kubectl_missing.output) << command;
  }
  EXPECT_EQ(kubectl_missing.output, "Error from server (NotFound): trainingjobs.kubecnn.io \"nope\" not found\n");
}

// A ServiceAccount token served by an exec credential plugin (a script), through KUBECONFIG with
// two files merged as kubectl merges them: the first file's exec user wins over the second's user
// of the same name, whose token is not valid, so only the plugin's token can authenticate.
TEST_F(PluginOnControlPlane, ListAuthenticatesThroughAnExecPluginFromMergedKubeconfigs) {
  for (const std::string& step :
       {std::string("create serviceaccount exec-auth -n plugin"),
        std::string(
            "create role trainingjob-reader -n plugin --verb=get,list,watch --resource=trainingjobs.kubecnn.io"),
        std::string(
            "create rolebinding exec-auth -n plugin --role=trainingjob-reader --serviceaccount=plugin:exec-auth")}) {
    const CommandOutcome done = plane_->Kubectl(step + " 2>&1");
    ASSERT_EQ(done.exit_code, 0) << step << ": " << done.output;
  }
  const CommandOutcome token = plane_->Kubectl("create token exec-auth -n plugin");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  ASSERT_EQ(RunPlugin("run exec-listed --image=kubecnn/trainer:latest --checkpoints=runs -- --model=tiny").exit_code,
            0);

  testing::ScratchDir dir;
  testing::WriteFile(dir / "token", token.output);
  const std::string plugin = dir / "sa-token-plugin";
  testing::WriteFile(plugin, "#!/bin/sh\necho \"$KUBERNETES_EXEC_INFO\" >> " + dir / "runs" +
                                 "\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
                                 "\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$(cat " +
                                 dir / "token" + ")\"\n");
  ASSERT_EQ(::chmod(plugin.c_str(), 0755), 0);
  testing::WriteFile(dir / "exec-user",
                     "apiVersion: v1\nkind: Config\nusers:\n- name: token-user\n  user:\n    exec:\n"
                     "      apiVersion: client.authentication.k8s.io/v1\n      command: ./sa-token-plugin\n"
                     "      interactiveMode: Never\n");
  const std::string cluster = plane_->KubeconfigForToken("not-a-valid-token", "token-user");
  const std::string kubeconfig = "KUBECONFIG=" + dir / "exec-user" + ":" + cluster + " ";

  const CommandOutcome listed = testing::RunCommand(kubeconfig + PluginPath() + " list -n plugin 2>&1");
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(Contains(listed.output, "exec-listed")) << listed.output;
  EXPECT_EQ(testing::ReadFile(dir / "runs"),
            "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"spec\":{\"interactive\":false}}\n")
      << "run once, with the exec info";

  // Without the first file the second's own (invalid) token is used and refused, as kubectl refuses it.
  const CommandOutcome refused =
      testing::RunCommand("KUBECONFIG=" + cluster + " " + PluginPath() + " list -n plugin 2>&1");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  // A plugin that fails: one line naming the user and the command, kubectl's exit code.
  testing::WriteFile(dir / "token", "");
  testing::WriteFile(plugin, "#!/bin/sh\necho 'token expired, run sso login' >&2\nexit 2\n");
  const CommandOutcome failed = testing::RunCommand(kubeconfig + PluginPath() + " list -n plugin 2>&1");
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.output, "error: kubeconfig user \"token-user\": exec plugin `" + dir.path() +
                               "/./sa-token-plugin` failed with exit code 2: token expired, run sso login\n");
  EXPECT_EQ(plane_->Kubectl("delete trainingjob -n plugin exec-listed").exit_code, 0);
}

TEST_F(PluginOnControlPlane, KubectlFindsItOnPathAsKubectlKubecnn) {
  const std::string dir = plane_->kubectl().substr(0, plane_->kubectl().rfind('/'));
  const CommandOutcome listed = testing::RunCommand(
      "PATH=" + PluginDir() + ":" + dir +
      ":/usr/bin:/bin kubectl kubecnn list -n plugin --kubeconfig=" + plane_->admin_kubeconfig() + " 2>&1");
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  const CommandOutcome plugins =
      testing::RunCommand("PATH=" + PluginDir() + ":" + dir + ":/usr/bin:/bin kubectl plugin list 2>&1");
  EXPECT_TRUE(Contains(plugins.output, PluginDir() + "/kubectl-kubecnn")) << plugins.output;
}

TEST_F(PluginOnControlPlane, WatchIntoAPipeFollowsTheRealApiServer) {
  ASSERT_EQ(RunPlugin("run piped --image=kubecnn/trainer:latest --checkpoints=runs -- --model=tiny --num_batches=100 "
                      "--batch_size=8")
                .exit_code,
            0);
  testing::ScratchDir dir;
  testing::Process watch({PluginPath(), "watch", "piped", "-n", "plugin", "--kubeconfig=" + plane_->admin_kubeconfig()},
                         dir / "watch.log");
  ASSERT_TRUE(Eventually([&] { return Contains(watch.output(), "piped  Pending"); })) << watch.output();
  kube::Client admin = Admin();
  SetStatus(admin, "piped",
            {{"phase", "Running"}, {"progress", {{"step", 40}, {"totalSteps", 100}, {"imagesPerSecond", 16.0}}}});
  ASSERT_TRUE(Eventually([&] { return Contains(watch.output(), "step 40/100"); })) << watch.output();
  SetStatus(admin, "piped", {{"phase", "Succeeded"}, {"evaluation", {{"top1", 0.125}, {"top5", 0.5}}}});
  ASSERT_EQ(watch.Wait(std::chrono::seconds(30)), 0) << watch.output();
  EXPECT_EQ(watch.output(),
            "piped  Pending  restarts 0  workers 0/1 scheduled\n"
            "piped  Running  step 40/100  16.0 img/s  ETA 30s  restarts 0\n"
            "piped  Succeeded  step 40/100  16.0 img/s  restarts 0  top-1 12.50%  top-5 50.00%\n"
            "piped Succeeded: top-1 12.50%, top-5 50.00%\n");
}

// tmux is a real terminal: the progress line is redrawn in place, so the pane holds only the newest.
TEST_F(PluginOnControlPlane, WatchInATerminalRedrawsOneLine) {
  if (testing::RunCommand("command -v tmux").exit_code != 0) GTEST_SKIP() << "tmux is not installed";
  ASSERT_EQ(RunPlugin("run tty --image=kubecnn/trainer:latest --checkpoints=runs -- --model=tiny --num_batches=100 "
                      "--batch_size=8")
                .exit_code,
            0);
  const std::string session = "kubecnn-plugin-test-" + std::to_string(::getpid());
  const std::string command =
      PluginPath() + " watch tty -n plugin --kubeconfig=" + plane_->admin_kubeconfig() + "; echo EXIT=$?; sleep 600";
  ASSERT_EQ(testing::RunCommand("tmux new-session -d -s " + session + " -x 150 -y 10 '" + command + "'").exit_code, 0);
  struct Kill {
    std::string session;
    ~Kill() { testing::RunCommand("tmux kill-session -t " + session); }
  } kill{session};
  const auto pane = [&] { return testing::RunCommand("tmux capture-pane -p -t " + session).output; };
  ASSERT_TRUE(Eventually([&] { return Contains(pane(), "tty  Pending"); })) << pane();
  kube::Client admin = Admin();
  SetStatus(admin, "tty",
            {{"phase", "Running"}, {"progress", {{"step", 10}, {"totalSteps", 100}, {"imagesPerSecond", 8.0}}}});
  ASSERT_TRUE(Eventually([&] { return Contains(pane(), "step 10/100"); })) << pane();
  SetStatus(admin, "tty", {{"progress", {{"step", 20}}}});
  ASSERT_TRUE(Eventually([&] { return Contains(pane(), "step 20/100"); })) << pane();
  std::string shown = pane();
  EXPECT_FALSE(Contains(shown, "step 10/100")) << shown;  // redrawn, not appended
  EXPECT_FALSE(Contains(shown, "Pending")) << shown;
  size_t progress_lines = 0;
  for (size_t at = shown.find("tty  "); at != std::string::npos; at = shown.find("tty  ", at + 1)) ++progress_lines;
  EXPECT_EQ(progress_lines, 1u) << shown;
  SetStatus(admin, "tty",
            {{"phase", "Failed"},
             {"conditions", json::array({{{"type", "Failed"},
                                          {"status", "True"},
                                          {"reason", "BackoffLimitExceeded"},
                                          {"message", "3 gang restarts"},
                                          {"lastTransitionTime", "2026-05-01T12:00:00Z"}}})}});
  ASSERT_TRUE(Eventually([&] { return Contains(pane(), "EXIT="); })) << pane();
  shown = pane();
  std::cout << "tmux pane:\n" << shown;
  EXPECT_TRUE(Contains(shown,
                       "tty  Failed  step 20/100  8.0 img/s  restarts 0\ntty Failed (BackoffLimitExceeded): "
                       "3 gang restarts\nEXIT=1"))
      << shown;
}

}  // namespace
}  // namespace kubecnn::plugin

// kubectl-kubecnn's commands against the fixture API server: what run creates, watch piped (a line
// per change, exit code by outcome), list, logs -f across a gang restart, describe, eval, and the
// one-line errors with kubectl's exit code 1 (the built binary for the process-level ones).
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "operator/plugin/commands.h"
#include "tests/support/apiserver_objects.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/process.h"
#include "tests/support/test_files.h"

namespace kubecnn::plugin {
namespace {

using nlohmann::json;
using testing::FakeApiServer;
using testing::FindKind;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

const testing::ApiKind& Jobs() { return *FindKind("kubecnn.io", "v1alpha1", "trainingjobs"); }
const testing::ApiKind& Pods() { return *FindKind("", "v1", "pods"); }
const testing::ApiKind& Events() { return *FindKind("", "v1", "events"); }

std::string Plugin() { return std::string(KUBECNN_BINARY_DIR) + "/operator/plugin/kubectl-kubecnn"; }

// Waits for `done` (a fixture counter or object) for up to 30 s, checking every 10 ms.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class PluginCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    kubeconfig_ = dir_ / "kubeconfig";
    testing::WriteFile(kubeconfig_, server_.Kubeconfig("token: t", "ml"));
  }

  // Main in this process, stdout not a terminal (a pipe), with the fixture's kubeconfig.
  Result Run(std::vector<std::string> args) {
    args.insert(args.begin() + 1, "--kubeconfig=" + kubeconfig_);
    std::ostringstream out, err;
    Terminal terminal{out, err};
    Result r;
    r.code = Main(args, terminal);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  json MakeJob(const std::string& name, const json& status = json::object()) {
    json job = {{"apiVersion", "kubecnn.io/v1alpha1"},
                {"kind", "TrainingJob"},
                {"metadata", {{"name", name}, {"namespace", "ml"}}},
                {"spec",
                 {{"image", "kubecnn/trainer:latest"},
                  {"workers", 2},
                  {"slotsPerWorker", 1},
                  {"trainer",
                   {{"model", "tiny"},
                    {"numBatches", 100},
                    {"batchSize", 32},
                    {"dataDir", "/data/shards"},
                    {"logDir", "/checkpoints/" + name}}},
                  {"volumes",
                   {{"data", {{"persistentVolumeClaim", {{"claimName", "shards"}}}}},
                    {"checkpoints", {{"persistentVolumeClaim", {{"claimName", "runs"}}}}}}}}}};
    const json made = server_.store().Create(Jobs(), "ml", job);
    if (!status.empty()) SetStatus(name, status);
    return made;
  }

  void SetStatus(const std::string& name, const json& status) {
    server_.store().MergePatch(Jobs(), "ml", name, {{"status", status}}, true);
  }

  // Named and labelled as the operator makes it (controller::LauncherName); returns its name.
  std::string MakeLauncher(const std::string& job, int attempt, const std::string& phase = "Running") {
    const std::string name = job + "-launcher" + (attempt == 0 ? "" : "-" + std::to_string(attempt));
    server_.store().Create(
        Pods(), "ml",
        {{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata",
          {{"name", name},
           {"namespace", "ml"},
           {"labels",
            {{"kubecnn.io/job-name", job},
             {"kubecnn.io/role", "launcher"},
             {"kubecnn.io/attempt", std::to_string(attempt)},
             {"kubecnn.io/stage", "Train"}}}}},
         {"spec", {{"containers", json::array({{{"name", "launcher"}, {"image", "kubecnn/trainer:latest"}}})}}}});
    // As a kubelet reports it (a create's status is dropped, as the API server drops it).
    server_.store().MergePatch(Pods(), "ml", name, {{"status", {{"phase", phase}}}}, true);
    return name;
  }

  FakeApiServer server_;
  testing::ScratchDir dir_;
  std::string kubeconfig_;
};

TEST_F(PluginCommands, RunCreatesTheObjectItsDryRunPrints) {
  const std::vector<std::string> line = {"run",
                                         "tiny",
                                         "--image=kubecnn/trainer:latest",
                                         "--checkpoints=runs",
                                         "--",
                                         "mpiexec",
                                         "-np",
                                         "2",
                                         "kubecnn-trainer",
                                         "--model=tiny",
                                         "--num_batches=20"};
  std::vector<std::string> dry = line;
  dry.insert(dry.begin() + 2, {"--dry-run=client", "-o", "json"});
  const Result printed = Run(dry);
  ASSERT_EQ(printed.code, 0) << printed.err;
  EXPECT_EQ(server_.store().Count(Jobs()), 0u);  // a dry run creates nothing
  const json expected = json::parse(printed.out);
  EXPECT_EQ(expected["metadata"]["namespace"], "ml");  // the kubeconfig context's namespace

  const Result created = Run(line);
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_EQ(created.out, "trainingjob.kubecnn.io/tiny created\n");
  const json stored = server_.store().Get(Jobs(), "ml", "tiny");
  EXPECT_EQ(stored["spec"], expected["spec"]);
  EXPECT_EQ(stored["metadata"]["annotations"], expected["metadata"]["annotations"]);

  const Result again = Run(line);
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.err, "Error from server (AlreadyExists): trainingjobs.kubecnn.io \"tiny\" already exists\n");
}

TEST_F(PluginCommands, WatchIntoAPipeWritesALinePerChangeAndExitsZeroOnSuccess) {
  MakeJob("r50");
  std::thread operator_([&] {
    ASSERT_TRUE(WaitFor([&] { return server_.ActiveWatches() > 0; }));
    SetStatus("r50", {{"phase", "Scheduling"}, {"workers", {{"desired", 2}, {"scheduled", 1}}}});
    SetStatus("r50",
              {{"phase", "Running"}, {"progress", {{"step", 10}, {"totalSteps", 100}, {"imagesPerSecond", 64.0}}}});
    SetStatus("r50", {{"workers", {{"ready", 2}}}});  // no figure watch shows: no new line
    SetStatus("r50", {{"progress", {{"step", 20}, {"loss", 2.5}}}});
    SetStatus("r50", {{"phase", "Succeeded"},
                      {"startTime", "2026-05-01T12:00:00Z"},
                      {"completionTime", "2026-05-01T12:05:00Z"},
                      {"evaluation", {{"top1", 0.5}, {"top5", 0.875}, {"images", 1000}}}});
  });
  const Result r = Run({"watch", "r50"});
  operator_.join();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "r50  Pending  restarts 0  workers 0/2 scheduled\n"
            "r50  Scheduling  restarts 0  workers 1/2 scheduled\n"
            "r50  Running  step 10/100  64.0 img/s  ETA 90s  restarts 0\n"
            "r50  Running  step 20/100  64.0 img/s  loss 2.5000  ETA 80s  restarts 0\n"
            "r50  Succeeded  step 20/100  64.0 img/s  loss 2.5000  restarts 0  top-1 50.00%  top-5 87.50%\n"
            "r50 Succeeded in 5m: top-1 50.00%, top-5 87.50% (1000 images)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(PluginCommands, WatchExitsOneWithTheReasonWhenTheJobFails) {
  MakeJob("r50", {{"phase", "Running"}});
  std::thread operator_([&] {
    ASSERT_TRUE(WaitFor([&] { return server_.ActiveWatches() > 0; }));
    SetStatus("r50", {{"phase", "Failed"},
                      {"conditions",
                       json::array({{{"type", "Failed"},
                                     {"status", "True"},
                                     {"reason", "PermanentError"},
                                     {"message", "kubecnn-trainer train: --num_classes must be at least 1"}}})}});
  });
  const Result r = Run({"watch", "r50"});
  operator_.join();
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("r50 Failed (PermanentError): kubecnn-trainer train: --num_classes must be at least 1\n"),
            std::string::npos)
      << r.out;
}

TEST_F(PluginCommands, WatchOfAFinishedJobPrintsItsOutcomeAtOnce) {
  MakeJob("done", {{"phase", "Succeeded"}});
  const Result r = Run({"watch", "done"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "done  Succeeded  restarts 0\ndone Succeeded\n");
}

TEST_F(PluginCommands, WatchSaysSoWhenTheJobIsDeleted) {
  MakeJob("gone", {{"phase", "Running"}});
  std::thread deleter([&] {
    ASSERT_TRUE(WaitFor([&] { return server_.ActiveWatches() > 0; }));
    server_.store().Delete(Jobs(), "ml", "gone", "", nullptr);
  });
  const Result r = Run({"watch", "gone"});
  deleter.join();
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: trainingjob \"gone\" was deleted while being watched\n");
}

TEST_F(PluginCommands, AJobThatDoesNotExistIsKubectlsNotFound) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"watch", "nope"}, {"describe", "nope"}, {"logs", "nope"}, {"eval", "nope"}}) {
    const Result r = Run(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_EQ(r.err, "Error from server (NotFound): trainingjobs.kubecnn.io \"nope\" not found\n") << args[0];
  }
}

TEST_F(PluginCommands, ForbiddenIsKubectlsErrorFromServer) {
  server_.RequireBearerTokens({"t"});
  server_.SetRbac("t", "alice", {{{"kubecnn.io"}, {"trainingjobs"}, {"get", "list", "watch"}}});
  const Result r = Run({"run", "tiny", "--image=i", "--checkpoints=runs", "--", "--model=tiny"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "Error from server (Forbidden): trainingjobs is forbidden: User \"alice\" cannot create resource "
            "\"trainingjobs\" in API group \"kubecnn.io\" in the namespace \"ml\"\n");
}

TEST_F(PluginCommands, BadInputIsOneLineAndExitCodeOne) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {{"watch", "a", "--follow"}, "error: unknown flag --follow; see 'kubectl kubecnn watch --help'\n"},
           {{"watch"}, "error: NAME is required; usage: kubectl kubecnn watch NAME\n"},
           {{"wacth", "a"},
            "error: unknown command \"wacth\" for \"kubectl kubecnn\" (see 'kubectl kubecnn --help')\n"},
           {{"run", "a", "--image=i", "--", "--model=a", "--fp16", "--bf16"},
            "error: kubecnn-trainer would refuse this command line: --fp16 and --bf16 exclude each other\n"},
           {{"run", "a", "--image=i", "--dry-run=server", "--", "--model=a"},
            "error: --dry-run=server is not supported: use --dry-run=client -o yaml and kubectl apply "
            "--dry-run=server -f -\n"},
           {{"logs", "a", "--previous", "--attempt=1"}, "error: --previous and --attempt both pick a gang: keep one\n"},
       }) {
    const Result r = Run(c.args);
    EXPECT_EQ(r.code, 1) << c.args[0];
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(PluginCommands, ListPrintsTheColumnsOfEveryJob) {
  MakeJob("b", {{"phase", "Running"}, {"restarts", 2}, {"progress", {{"step", 5}, {"totalSteps", 100}}}});
  MakeJob("a", {{"phase", "Succeeded"}, {"evaluation", {{"top1", 0.25}, {"top5", 0.5}}}});
  const Result r = Run({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(header.rfind("NAME   PHASE       STEP    EPOCH   IMG/S   LOSS   ETA   RESTARTS   TOP1     TOP5     AGE", 0),
            0u)
      << r.out;
  EXPECT_EQ(first.rfind("a      Succeeded   -       -       -       -      -     0          25.00%   50.00%   ", 0), 0u)
      << r.out;
  EXPECT_EQ(second.rfind("b      Running     5/100   -       -       -      -     2          -        -        ", 0),
            0u)
      << r.out;
  const Result all = Run({"list", "-A"});
  EXPECT_EQ(all.out.rfind("NAMESPACE   NAME", 0), 0u) << all.out;
  const Result empty = Run({"list", "-n", "empty"});
  EXPECT_EQ(empty.code, 0);
  EXPECT_EQ(empty.out, "");
  EXPECT_EQ(empty.err, "No resources found in empty namespace.\n");
}

TEST_F(PluginCommands, LogsFollowCarriesOnWithTheNewestGangAfterARestart) {
  MakeJob("r50", {{"phase", "Running"}, {"attempt", 0}});
  const std::string first = MakeLauncher("r50", 0);
  server_.AppendPodLog("ml", first, "attempt 0: step 1\n");
  Result r;
  std::thread follower([&] { r = Run({"logs", "r50", "-f"}); });
  const bool first_stream = WaitFor([&] { return server_.LogStreamsServed() >= 1; });
  EXPECT_TRUE(first_stream);
  server_.AppendPodLog("ml", first, "attempt 0: rank 3 died\n\n  (mpirun's blank lines too)\n");
  server_.ClosePodLog("ml", first);
  // The operator restarts the gang: status first, then the new gang's launcher comes (the old one,
  // finished, stays for its log).
  server_.store().MergePatch(Pods(), "ml", first, {{"status", {{"phase", "Failed"}}}}, true);
  SetStatus("r50", {{"phase", "Restarting"}, {"attempt", 1}, {"restarts", 1}});
  const std::string second = MakeLauncher("r50", 1);
  SetStatus("r50", {{"phase", "Running"}});
  server_.AppendPodLog("ml", second, "attempt 1: resumed from step 1\n");
  const bool second_stream = first_stream && WaitFor([&] { return server_.LogStreamsServed() >= 2; });
  EXPECT_TRUE(second_stream);
  SetStatus("r50", {{"phase", "Succeeded"}});
  server_.AppendPodLog("ml", second, "attempt 1: done\n");
  server_.ClosePodLog("ml", second);
  follower.join();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "attempt 0: step 1\nattempt 0: rank 3 died\n\n  (mpirun's blank lines too)\nattempt 1: resumed from step "
            "1\nattempt 1: done\n");
  EXPECT_EQ(r.err, "--- kubectl kubecnn: gang attempt 1, launcher r50-launcher-1 ---\n");

  const Result previous = Run({"logs", "r50", "--previous"});
  EXPECT_EQ(previous.code, 0) << previous.err;
  EXPECT_EQ(previous.out, "attempt 0: step 1\nattempt 0: rank 3 died\n\n  (mpirun's blank lines too)\n");
  EXPECT_EQ(Run({"logs", "r50", "--attempt=0"}).out, previous.out);
  EXPECT_EQ(Run({"logs", "r50", "--attempt", "1"}).out, "attempt 1: resumed from step 1\nattempt 1: done\n");
  EXPECT_EQ(Run({"logs", "r50"}).out, "attempt 1: resumed from step 1\nattempt 1: done\n");
}

// Attempts are not consecutive: one released by admission (no launcher) or a launcher deleted while
// it still ran leave gaps; --previous is the newest launcher of an earlier attempt.
TEST_F(PluginCommands, LogsPreviousIsTheNewestEarlierLauncherAndSaysWhenItIsGone) {
  MakeJob("r50", {{"phase", "Running"}, {"attempt", 3}, {"restarts", 2}, {"admissionRetries", 1}});
  server_.AppendPodLog("ml", MakeLauncher("r50", 1, "Failed"), "attempt 1\n");
  server_.AppendPodLog("ml", MakeLauncher("r50", 3), "now\n");
  const Result current = Run({"logs", "r50"});
  EXPECT_EQ(current.code, 0) << current.err;
  EXPECT_EQ(current.out, "now\n");
  const Result previous = Run({"logs", "r50", "--previous"});
  EXPECT_EQ(previous.code, 0) << previous.err;
  EXPECT_EQ(previous.out, "attempt 1\n");

  MakeJob("lost", {{"phase", "Restarting"}, {"attempt", 2}, {"restarts", 2}});
  MakeLauncher("lost", 1, "Failed");
  const Result before_launcher = Run({"logs", "lost", "-p"});
  EXPECT_EQ(before_launcher.code, 0) << "attempt 2 has no launcher yet: attempt 1 is the gang before it";

  MakeJob("gone", {{"phase", "Running"}, {"attempt", 1}, {"restarts", 1}});
  MakeLauncher("gone", 1);
  const Result gone = Run({"logs", "gone", "--previous"});
  EXPECT_EQ(gone.code, 1);
  EXPECT_EQ(gone.err,
            "error: the launcher of the gang before attempt 1 of trainingjob \"gone\" is gone: at a restart the "
            "operator keeps only the newest earlier launcher, and only if it had finished (launchers left: attempt "
            "1)\n");
  const Result attempt = Run({"logs", "gone", "--attempt=0"});
  EXPECT_EQ(attempt.code, 1);
  EXPECT_EQ(attempt.err.rfind("error: the launcher of attempt 0 of trainingjob \"gone\" is gone: ", 0), 0u)
      << attempt.err;
  MakeJob("fresh", {{"phase", "Running"}});
  MakeLauncher("fresh", 0);
  const Result fresh = Run({"logs", "fresh", "--previous"});
  EXPECT_EQ(fresh.code, 1);
  EXPECT_EQ(fresh.err, "error: trainingjob \"fresh\" has not restarted: there is no previous gang\n");
}

TEST_F(PluginCommands, LogsOfAFinishedOrWaitingJobSayWhy) {
  MakeJob("cleaned", {{"phase", "Succeeded"}});
  for (const char* follow : {"-f", "--follow=false"}) {
    const Result cleaned = Run({"logs", "cleaned", follow});
    EXPECT_EQ(cleaned.code, 1) << follow;
    EXPECT_EQ(cleaned.err,
              "error: trainingjob \"cleaned\" has finished (Succeeded) and no launcher pod is left to read "
              "(spec.runPolicy.cleanPodPolicy All deletes them)\n")
        << follow;
  }
  MakeJob("waiting", {{"phase", "Scheduling"}});
  const Result none = Run({"logs", "waiting"});
  EXPECT_EQ(none.code, 1);
  EXPECT_EQ(none.err,
            "error: trainingjob \"waiting\" has no launcher running yet (phase Scheduling); kubectl kubecnn logs -f "
            "waiting waits for it\n");
}

TEST_F(PluginCommands, DescribeShowsTheJobsEventsOnly) {
  const json job = MakeJob("r50", {{"phase", "Running"}, {"restarts", 1}});
  const auto event = [&](const std::string& name, const std::string& about, const std::string& reason) {
    server_.store().Create(Events(), "ml",
                           {{"apiVersion", "v1"},
                            {"kind", "Event"},
                            {"metadata", {{"name", name}, {"namespace", "ml"}}},
                            {"involvedObject", {{"kind", "TrainingJob"}, {"name", about}, {"namespace", "ml"}}},
                            {"type", "Warning"},
                            {"reason", reason},
                            {"message", reason + " of " + about},
                            {"lastTimestamp", "2026-05-01T12:00:00Z"},
                            {"count", 1}});
  };
  event("e1", "r50", "GangRestart");
  event("e2", "other", "ScheduleTimeout");
  const Result r = Run({"describe", "r50"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("GangRestart of r50"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("of other"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Launcher:     mpirun --hostfile /etc/kubecnn/hostfile -np 2 "), std::string::npos) << r.out;
}

TEST_F(PluginCommands, EvalMakesAnEvaluateJobOfTheCheckpointAndWaitsForAccuracy) {
  MakeJob("r50", {{"phase", "Succeeded"}});
  Result r;
  std::atomic<bool> done{false};
  std::thread evaluator([&] {
    r = Run({"eval", "r50", "--checkpoint", "1000"});
    done = true;
  });
  EXPECT_TRUE(WaitFor([&] { return server_.ActiveWatches() > 0 || done; }));
  json made;
  if (!done) {
    made = server_.store().Get(Jobs(), "ml", "r50-eval-1000");
    SetStatus("r50-eval-1000",
              {{"phase", "Succeeded"}, {"evaluation", {{"top1", 0.7}, {"top5", 0.9}, {"step", 1000}}}});
  }
  evaluator.join();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(made["spec"]["mode"], "Evaluate");
  EXPECT_EQ(made["spec"]["evaluation"]["checkpoint"], "/checkpoints/r50/model.ckpt-000001000.pt");
  EXPECT_EQ(made["spec"]["volumes"], server_.store().Get(Jobs(), "ml", "r50")["spec"]["volumes"]);
  EXPECT_EQ(made["metadata"]["labels"]["kubecnn.io/evaluates"], "r50");
  EXPECT_NE(r.out.find("r50-eval-1000 Succeeded: top-1 70.00%, top-5 90.00% (step 1000)\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.err, "trainingjob.kubecnn.io/r50-eval-1000 created: evaluating the checkpoint of step 1000 of r50\n");
}

TEST_F(PluginCommands, EvalRefusesAJobStillTraining) {
  MakeJob("r50", {{"phase", "Running"}});
  const Result r = Run({"eval", "r50"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: trainingjob \"r50\" has not finished training (phase Running): wait with kubectl kubecnn watch "
            "r50, or pick a checkpoint of a failed job with --checkpoint STEP\n");
  EXPECT_EQ(server_.store().Count(Jobs()), 1u);

  MakeJob("done", {{"phase", "Succeeded"}});
  MakeJob("done-eval", {{"phase", "Succeeded"}});
  const Result taken = Run({"eval", "done"});
  EXPECT_EQ(taken.code, 1);
  EXPECT_EQ(taken.err,
            "error: trainingjob \"done-eval\" already exists: see its result with kubectl kubecnn watch done-eval, or "
            "pick another name with --name\n");
}

// The built binary, as a user's shell runs it.
TEST(PluginBinary, WithoutAKubeconfigItSaysSoInOneLineAndExitsOne) {
  testing::ScratchDir home;
  const testing::CommandOutcome r = testing::RunCommand("env -i HOME=" + home.path() + " " + Plugin() + " list 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output,
            "error: no kubeconfig: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config (the file kubectl "
            "uses)\n");
  const testing::CommandOutcome missing = testing::RunCommand(Plugin() + " list --kubeconfig=/nonexistent 2>&1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(std::count(missing.output.begin(), missing.output.end(), '\n'), 1) << missing.output;
  EXPECT_NE(missing.output.find("/nonexistent"), std::string::npos) << missing.output;
}

TEST(PluginBinary, DryRunNeedsNoClusterAndHelpExitsZero) {
  testing::ScratchDir home;
  const testing::CommandOutcome r = testing::RunCommand(
      "env -i HOME=" + home.path() + " " + Plugin() +
      " run tiny --image=kubecnn/trainer:latest --checkpoints=runs --dry-run=client -- --model=tiny --num_batches=5 "
      "2>&1");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "trainingjob.kubecnn.io/tiny created (dry run)\n");
  const testing::CommandOutcome help = testing::RunCommand(Plugin() + " run --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("Usage:\n  kubectl kubecnn run NAME --image=IMAGE [options] -- COMMAND LINE"),
            std::string::npos)
      << help.output;
}

}  // namespace
}  // namespace kubecnn::plugin

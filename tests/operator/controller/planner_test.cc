// The pure planner, pass by pass over a simulated world (creates and deletes applied at once, the
// test playing kubelet): what each situation makes it create, delete, and write into status.
#include "operator/controller/planner.h"

#include <gtest/gtest.h>

#include <map>

#include "operator/api/defaults.h"
#include "operator/api/time_format.h"
#include "operator/controller/builders.h"
#include "operator/controller/conditions.h"
#include "operator/controller/names.h"
#include "operator/controller/pod_builders.h"
#include "operator/controller/pod_status.h"
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using namespace testing;

PlannerConfig NoRestartBackoff() {
  PlannerConfig config;
  config.restart_backoff = seconds(0);
  return config;
}

const kube::WallTime kT0 = *api::ParseTime("2026-03-01T10:00:00Z");

// Applies plans to an in-memory world and feeds it back as Observed.
class World {
 public:
  explicit World(api::TrainingJob job) : job(std::move(job)) {}

  Plan Pass(kube::WallTime now, const PlannerConfig& config = {}) {
    Observed o;
    for (const auto& [name, pod] : pods) o.pods.push_back(pod);
    o.service = service;
    o.config_map = config_map;
    o.secret = secret;
    o.pod_group = pod_group;
    o.foreign = foreign;
    o.progress = progress;
    o.refused = refused;
    Plan plan = Reconcile(job, o, now, config);
    for (const Action& a : plan.actions) {
      if (a.kind == ActionKind::kCreate) {
        json object = a.object;
        object["metadata"]["uid"] = "uid-" + std::to_string(++uids_);
        object["metadata"]["creationTimestamp"] = api::FormatTime(now);
        const std::string kind = object["kind"];
        if (kind == "Pod") pods[a.name] = object;
        if (kind == "Service") service = object;
        if (kind == "ConfigMap") config_map = object;
        if (kind == "PodGroup") pod_group = object;
      } else if (a.kind == ActionKind::kCreateSshSecret) {
        secret = SshSecret(job, {"k", "p"});
      } else if (a.kind == ActionKind::kDelete) {
        if (a.resource.plural == "pods") pods.erase(a.name);
        if (a.resource.plural == "podgroups") pod_group = nullptr;
      } else if (a.kind == ActionKind::kDeleteJob) {
        job_deleted = true;
      }
    }
    job.status = plan.status;
    return plan;
  }

  std::vector<std::string> PodNames() const {
    std::vector<std::string> out;
    for (const auto& [name, pod] : pods) out.push_back(name);
    return out;
  }
  void AllWorkersReady() {
    for (auto& [name, pod] : pods) {
      if (name.find("-worker-") != std::string::npos) pod = Ready(pod);
    }
  }

  api::TrainingJob job;
  std::map<std::string, json> pods;
  json service, config_map, secret, pod_group;
  std::vector<json> foreign;
  std::optional<api::Progress> progress;
  std::vector<Refusal> refused;
  bool job_deleted = false;

 private:
  int uids_ = 0;
};

int Count(const Plan& plan, ActionKind kind, const std::string& plural = "") {
  int n = 0;
  for (const Action& a : plan.actions) n += a.kind == kind && (plural.empty() || a.resource.plural == plural);
  return n;
}

bool HasEvent(const Plan& plan, const std::string& reason) {
  for (const EventRecord& e : plan.events) {
    if (e.reason == reason) return true;
  }
  return false;
}

const api::Condition& Cond(const api::TrainingJobStatus& s, const char* type) {
  static const api::Condition none{"absent", "", "", "", "", ""};
  const api::Condition* c = FindCondition(s, type);
  return c ? *c : none;
}

std::vector<std::string> Workers(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("r50-worker-" + std::to_string(i));
  return out;
}

TEST(Planner, NewJobCreatesServiceHostfileSecretAndWorkersButNoLauncher) {
  World w(MakeJob());
  const Plan plan = w.Pass(kT0);
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "services"), 1);
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "configmaps"), 1);
  EXPECT_EQ(Count(plan, ActionKind::kCreateSshSecret), 1);
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "pods"), 4);
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "podgroups"), 0) << "gang None makes no PodGroup";
  EXPECT_EQ(w.PodNames(), Workers(4));
  EXPECT_EQ(plan.status.phase, "Pending");
  EXPECT_EQ(FindCondition(plan.status, condition::kCreated), nullptr) << "asked for, not yet seen";
  EXPECT_FALSE(plan.status.start_time) << "the deadline counts from when the gang first runs";
  EXPECT_EQ(*plan.status.observed_generation, 1);
  EXPECT_EQ(plan.status.workers.desired, 4);
  EXPECT_EQ(w.config_map["data"]["hostfile"], Hostfile(api::Defaulted(w.job)));

  const Plan seen = w.Pass(kT0 + seconds(1));
  EXPECT_TRUE(seen.actions.empty()) << "a second pass over the same world creates nothing more";
  EXPECT_EQ(Cond(seen.status, condition::kCreated).status, "True");
  EXPECT_TRUE(HasEvent(seen, reason::kJobCreated));
  const Plan again = w.Pass(kT0 + seconds(2));
  EXPECT_TRUE(again.actions.empty());
  EXPECT_TRUE(again.events.empty()) << "no event repeats while nothing changes";
}

TEST(Planner, RefusedWritesShowInConditionBlockedUntilTheyGoThrough) {
  World w(MakeJob());
  w.Pass(kT0);
  w.refused = {{reason::kForbidden, "writing Pod r50-worker-0: pods is forbidden"},
               {reason::kForbidden, "writing Pod r50-worker-1: pods is forbidden"}};
  Plan plan = w.Pass(kT0 + seconds(1));
  EXPECT_EQ(Cond(plan.status, condition::kBlocked).status, "True");
  EXPECT_EQ(Cond(plan.status, condition::kBlocked).reason, reason::kForbidden);
  EXPECT_EQ(Cond(plan.status, condition::kBlocked).message,
            "writing Pod r50-worker-0: pods is forbidden (and 1 more refused)");
  EXPECT_TRUE(HasEvent(plan, reason::kForbidden));
  EXPECT_EQ(*plan.requeue_after, seconds(10)) << "rechecked on a short period: fixed RBAC sends no event";
  EXPECT_TRUE(w.Pass(kT0 + seconds(2)).events.empty()) << "no event repeats while the refusal stands";

  w.refused.clear();
  plan = w.Pass(kT0 + seconds(3));
  EXPECT_EQ(Cond(plan.status, condition::kBlocked).status, "False");
  EXPECT_EQ(Cond(plan.status, condition::kBlocked).reason, reason::kUnblocked);
  EXPECT_TRUE(HasEvent(plan, reason::kUnblocked));
}

TEST(Planner, LauncherWaitsForEveryWorkerToBeReady) {
  World w(MakeJob());
  w.Pass(kT0);
  for (int i = 0; i < 3; ++i) w.pods[Workers(4)[i]] = Ready(w.pods[Workers(4)[i]]);
  w.pods["r50-worker-3"] = Scheduled(w.pods["r50-worker-3"]);
  Plan plan = w.Pass(kT0 + seconds(5));
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "pods"), 0) << "3 of 4 ready: no launcher yet";
  EXPECT_EQ(plan.status.workers.ready, 3);
  EXPECT_EQ(plan.status.workers.scheduled, 4);
  EXPECT_EQ(Cond(plan.status, condition::kScheduled).reason, reason::kAllWorkersScheduled);

  w.AllWorkersReady();
  plan = w.Pass(kT0 + seconds(6));
  ASSERT_EQ(Count(plan, ActionKind::kCreate, "pods"), 1);
  EXPECT_EQ(plan.actions[0].object, LauncherPod(api::Defaulted(w.job), kStageTrain, 0));
  EXPECT_TRUE(w.pods.count("r50-launcher"));
  EXPECT_EQ(plan.status.phase, "Pending");

  w.pods["r50-launcher"] = Running(w.pods["r50-launcher"]);
  w.progress = api::Progress{3, 1200, std::nullopt, 2800.0, 3.5, 0.4, std::nullopt, std::nullopt};
  plan = w.Pass(kT0 + seconds(60));
  EXPECT_EQ(plan.status.phase, "Running");
  EXPECT_EQ(Cond(plan.status, condition::kRunning).reason, reason::kLauncherRunning);
  ASSERT_TRUE(plan.status.progress);
  EXPECT_EQ(*plan.status.progress->epoch, 3);
  EXPECT_EQ(*plan.status.progress->step, 1200);
  EXPECT_DOUBLE_EQ(*plan.status.progress->images_per_second, 2800.0);
  EXPECT_EQ(*plan.status.progress->updated_at, "2026-03-01T10:01:00Z");
  EXPECT_EQ(*plan.requeue_after, seconds(15)) << "progress is refreshed while running";
}

World RunningWorld(api::TrainingJob job = MakeJob()) {
  World w(std::move(job));
  w.Pass(kT0);
  w.AllWorkersReady();
  w.Pass(kT0 + seconds(10));
  w.pods["r50-launcher"] = Running(w.pods["r50-launcher"]);
  w.Pass(kT0 + seconds(20));
  return w;
}

TEST(Planner, LauncherSuccessFinishesTheJobAndCleansUpByPolicy) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"Running", {"r50-launcher"}},  // the default: running workers go, the finished launcher stays
      {"All", {}},
      {"None", {"r50-launcher", "r50-worker-0", "r50-worker-1", "r50-worker-2", "r50-worker-3"}},
  };
  for (const auto& [policy, left] : cases) {
    api::TrainingJob job = MakeJob();
    job.spec.run_policy.clean_pod_policy = policy;
    World w = RunningWorld(job);
    w.pods["r50-launcher"] = Succeeded(w.pods["r50-launcher"]);
    const Plan plan = w.Pass(kT0 + seconds(100));
    EXPECT_EQ(plan.status.phase, "Succeeded") << policy;
    EXPECT_EQ(Cond(plan.status, condition::kSucceeded).reason, reason::kTrainingSucceeded);
    EXPECT_EQ(Cond(plan.status, condition::kRunning).status, "False");
    EXPECT_EQ(*plan.status.completion_time, "2026-03-01T10:01:40Z");
    EXPECT_EQ(w.PodNames(), left) << policy;
    EXPECT_TRUE(w.Pass(kT0 + seconds(200)).actions.empty()) << "finished: nothing more to do";
  }
}

TEST(Planner, WorkerFailureRestartsTheWholeGangAfterBackoff) {
  World w = RunningWorld();
  w.pods["r50-worker-2"] = Evicted(w.pods["r50-worker-2"]);
  Plan plan = w.Pass(kT0 + seconds(100));
  EXPECT_TRUE(plan.gang_restarted);
  EXPECT_EQ(plan.status.restarts, 1);
  EXPECT_EQ(plan.status.attempt, 1);
  EXPECT_EQ(plan.status.phase, "Restarting");
  const api::Condition& restarting = Cond(plan.status, condition::kRestarting);
  EXPECT_EQ(restarting.reason, reason::kGangRestart);
  EXPECT_NE(restarting.message.find("r50-worker-2 failed (Evicted: The node was low on resource: memory.)"),
            std::string::npos)
      << restarting.message;
  EXPECT_NE(restarting.message.find("restart 1 of 3"), std::string::npos) << restarting.message;
  EXPECT_TRUE(w.pods.empty()) << "every pod of the old gang is deleted, launcher included";
  EXPECT_EQ(*plan.status.retry_after, "2026-03-01T10:01:50Z") << "first back-off: 10 s";
  EXPECT_TRUE(HasEvent(plan, reason::kGangRestart));

  plan = w.Pass(kT0 + seconds(105));
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "pods"), 0) << "still backing off";
  EXPECT_EQ(*plan.requeue_after, seconds(5));

  plan = w.Pass(kT0 + seconds(110));
  EXPECT_EQ(w.PodNames(), Workers(4)) << "same names, so the hostfile stays valid";
  for (const auto& [name, pod] : w.pods) EXPECT_EQ(pod["metadata"]["labels"][kLabelAttempt], "1") << name;
  EXPECT_FALSE(plan.status.retry_after);

  w.AllWorkersReady();
  w.Pass(kT0 + seconds(120));
  ASSERT_TRUE(w.pods.count("r50-launcher-1")) << "each attempt's launcher has its own name";
  w.pods["r50-launcher-1"] = Running(w.pods["r50-launcher-1"]);
  plan = w.Pass(kT0 + seconds(130));
  EXPECT_EQ(plan.status.phase, "Running");
  EXPECT_EQ(Cond(plan.status, condition::kRestarting).status, "False");
  EXPECT_EQ(plan.status.restarts, 1);
}

// A launcher that had finished when its gang was restarted holds nothing but its log (what
// `kubectl kubecnn logs --previous` reads): the newest such launcher of an earlier attempt stays,
// per stage, and the new gang does not wait for it.
TEST(Planner, TheLastFinishedLauncherOfAnEarlierGangStaysForItsLog) {
  api::TrainingJob job = MakeJob();
  job.spec.run_policy.backoff_limit = 10;
  World w = RunningWorld(job);
  w.pods["r50-launcher"] = Failed(w.pods["r50-launcher"], 1);
  Plan plan = w.Pass(kT0 + seconds(100), NoRestartBackoff());
  EXPECT_EQ(plan.status.attempt, 1);
  EXPECT_EQ(w.PodNames(), std::vector<std::string>{"r50-launcher"}) << "the workers go, the failed launcher stays";
  plan = w.Pass(kT0 + seconds(101), NoRestartBackoff());
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "pods"), 4) << "the kept launcher is not a stale pod to wait for";
  w.AllWorkersReady();
  w.Pass(kT0 + seconds(102), NoRestartBackoff());
  ASSERT_TRUE(w.pods.count("r50-launcher-1"));
  EXPECT_EQ(w.pods["r50-launcher-1"]["metadata"]["labels"][kLabelAttempt], "1");
  w.pods["r50-launcher-1"] = Running(w.pods["r50-launcher-1"]);
  plan = w.Pass(kT0 + seconds(103), NoRestartBackoff());
  EXPECT_EQ(plan.status.phase, "Running") << "attempt 0's failed launcher is not this gang's";
  EXPECT_EQ(plan.status.restarts, 1);

  w.pods["r50-launcher-1"] = Failed(w.pods["r50-launcher-1"], 1);
  plan = w.Pass(kT0 + seconds(104), NoRestartBackoff());
  EXPECT_EQ(plan.status.attempt, 2);
  EXPECT_EQ(w.PodNames(), std::vector<std::string>{"r50-launcher-1"}) << "only the newest earlier launcher stays";

  w.Pass(kT0 + seconds(105), NoRestartBackoff());
  w.pods["r50-worker-3"] = Evicted(w.pods["r50-worker-3"]);  // this gang fails before it has a launcher
  plan = w.Pass(kT0 + seconds(106), NoRestartBackoff());
  EXPECT_EQ(plan.status.attempt, 3);
  EXPECT_EQ(w.PodNames(), std::vector<std::string>{"r50-launcher-1"}) << "attempt 2 had none: attempt 1's stays";

  w.Pass(kT0 + seconds(107), NoRestartBackoff());
  w.AllWorkersReady();
  w.Pass(kT0 + seconds(108), NoRestartBackoff());
  ASSERT_TRUE(w.pods.count("r50-launcher-3"));
  w.pods["r50-launcher-3"] = Running(w.pods["r50-launcher-3"]);  // restarted while running: it goes
  w.pods["r50-worker-0"] = Evicted(w.pods["r50-worker-0"]);
  plan = w.Pass(kT0 + seconds(109), NoRestartBackoff());
  EXPECT_EQ(w.PodNames(), std::vector<std::string>{"r50-launcher-1"})
      << "a launcher still running at the restart goes with its gang";

  w.Pass(kT0 + seconds(110), NoRestartBackoff());
  w.AllWorkersReady();
  w.Pass(kT0 + seconds(111), NoRestartBackoff());
  w.pods["r50-launcher-4"] = Succeeded(w.pods["r50-launcher-4"]);
  plan = w.Pass(kT0 + seconds(112), NoRestartBackoff());
  EXPECT_EQ(plan.status.phase, "Succeeded");
  EXPECT_EQ(w.PodNames(), (std::vector<std::string>{"r50-launcher-1", "r50-launcher-4"}))
      << "cleanPodPolicy Running: both finished launchers stay with the finished job";
}

TEST(Planner, AnEvaluationGangRestartKeepsTheTrainingLauncherAndTheFailedEvaluation) {
  World w = RunningWorld();
  w.job.spec.evaluation.enabled = true;
  w.pods["r50-launcher"] = Succeeded(w.pods["r50-launcher"]);
  w.Pass(kT0 + seconds(100), NoRestartBackoff());
  ASSERT_TRUE(w.pods.count("r50-eval")) << "evaluation runs on the same gang";
  w.pods["r50-eval"] = Failed(w.pods["r50-eval"], 1);
  Plan plan = w.Pass(kT0 + seconds(101), NoRestartBackoff());
  EXPECT_EQ(plan.status.attempt, 1);
  EXPECT_EQ(w.PodNames(), (std::vector<std::string>{"r50-eval", "r50-launcher"}))
      << "per stage, the newest finished launcher stays";
  w.Pass(kT0 + seconds(102), NoRestartBackoff());
  w.AllWorkersReady();
  w.Pass(kT0 + seconds(103), NoRestartBackoff());
  EXPECT_TRUE(w.pods.count("r50-eval-1")) << "the evaluation is retried, not the training";
  EXPECT_FALSE(w.pods.count("r50-launcher-1"));
}

TEST(Planner, BackoffIsNeverCutShortByWholeSecondTimestamps) {
  World w = RunningWorld();
  w.pods["r50-worker-2"] = Evicted(w.pods["r50-worker-2"]);
  const Plan plan = w.Pass(kT0 + std::chrono::milliseconds(100500));  // 10:01:40.5
  EXPECT_EQ(*plan.status.retry_after, "2026-03-01T10:01:51Z") << "10 s from 10:01:40.5, rounded up, not down";
  EXPECT_EQ(Count(w.Pass(kT0 + std::chrono::milliseconds(110200)), ActionKind::kCreate, "pods"), 0)
      << "9.7 s into a 10 s back-off: still waiting";
}

// The trainer resumes a checkpoint only at the world size that wrote it, so a gang is never resized
// (the CRD refuses the change; this covers API servers that do not run its CEL rules): the running
// gang is left alone, no restart is used up, and the job says what to do.
TEST(Planner, ResizingARunningGangIsRefusedInBothDirections) {
  for (const int64_t workers : {5, 3}) {
    SCOPED_TRACE("4 -> " + std::to_string(workers));
    World w = RunningWorld();
    const std::vector<std::string> before = w.PodNames();
    w.job.spec.workers = workers;
    w.job.metadata["generation"] = 2;
    Plan plan = w.Pass(kT0 + seconds(100));
    EXPECT_TRUE(plan.actions.empty()) << "no pod deleted, none created";
    EXPECT_EQ(w.PodNames(), before);
    EXPECT_EQ(plan.status.restarts, 0);
    EXPECT_EQ(plan.status.attempt, 0);
    EXPECT_EQ(plan.status.phase, "Running") << "the gang runs on at its size";
    const api::Condition& invalid = Cond(plan.status, condition::kInvalid);
    EXPECT_EQ(invalid.status, "True");
    EXPECT_EQ(invalid.reason, reason::kResizeRefused);
    EXPECT_NE(invalid.message.find("from 4 x 8 to " + std::to_string(workers) + " x 8"), std::string::npos)
        << invalid.message;
    EXPECT_NE(invalid.message.find("set it back to 4 x 8, or create a new TrainingJob"), std::string::npos)
        << invalid.message;
    EXPECT_TRUE(HasEvent(plan, reason::kResizeRefused));

    w.job.spec.workers = 4;
    w.job.metadata["generation"] = 3;
    plan = w.Pass(kT0 + seconds(110));
    EXPECT_EQ(Cond(plan.status, condition::kInvalid).status, "False");
    EXPECT_EQ(plan.status.phase, "Running");
    EXPECT_TRUE(plan.actions.empty());
  }
}

TEST(Planner, OldGangMustBeGoneBeforeTheNewOneIsCreated) {
  World w = RunningWorld();
  w.pods["r50-worker-0"] = Failed(w.pods["r50-worker-0"], 137, "OOMKilled");
  Observed o;
  for (const auto& [name, pod] : w.pods) o.pods.push_back(pod);
  o.service = w.service;
  o.config_map = w.config_map;
  o.secret = w.secret;
  // The deletes were sent but the pods are still terminating.
  Plan plan = Reconcile(w.job, o, kT0 + seconds(100), NoRestartBackoff());
  w.job.status = plan.status;
  for (json& pod : o.pods) pod["metadata"]["deletionTimestamp"] = "2026-03-01T10:01:40Z";
  plan = Reconcile(w.job, o, kT0 + seconds(101), NoRestartBackoff());
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "pods"), 0) << "worker hostnames are reused: wait for the old pods";
  EXPECT_EQ(Count(plan, ActionKind::kDelete, "pods"), 0) << "terminating pods are not deleted again";
  EXPECT_EQ(plan.status.restarts, 1) << "terminating pods of the old gang are not a new failure";
}

TEST(Planner, LostMemberAndLauncherFailureRestartToo) {
  World lost = RunningWorld();
  lost.pods.erase("r50-worker-1");
  EXPECT_EQ(lost.Pass(kT0 + seconds(100)).status.restarts, 1);

  World launcher = RunningWorld();
  launcher.pods["r50-launcher"] = Failed(launcher.pods["r50-launcher"], 1);
  const Plan plan = launcher.Pass(kT0 + seconds(100));
  EXPECT_EQ(plan.status.restarts, 1);
  EXPECT_NE(Cond(plan.status, condition::kRestarting).message.find("r50-launcher failed with exit code 1"),
            std::string::npos);
}

TEST(Planner, ASucceededTrainingShowsItsLastStepNotTheLastScrape) {
  World w = RunningWorld();
  api::Progress scraped;
  scraped.step = 974;  // rank 0's metrics were last read 226 steps before the end
  scraped.total_steps = 1200;
  w.job.status.progress = scraped;
  w.pods["r50-launcher"] = Succeeded(w.pods["r50-launcher"]);
  const Plan plan = w.Pass(kT0 + seconds(100));
  ASSERT_TRUE(plan.status.progress.has_value());
  EXPECT_EQ(plan.status.progress->step, 1200);
  EXPECT_EQ(*plan.status.progress->updated_at, "2026-03-01T10:01:40Z");
}

TEST(Planner, TheLaunchersTerminationMessageReachesTheConditionAsOneLine) {
  World w = RunningWorld();
  json pod = Failed(w.pods["r50-launcher"], 2);
  // As the launcher writes it: the trainer's error line with its newline, from a file.
  pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] =
      "kubecnn-trainer train: unknown flag --bogus (see kubecnn-trainer train --help)\n";
  w.pods["r50-launcher"] = pod;
  const Plan plan = w.Pass(kT0 + seconds(100));
  const std::string message = Cond(plan.status, condition::kFailed).message;
  EXPECT_NE(message.find("exit code 2 (Error: kubecnn-trainer train: unknown flag --bogus (see kubecnn-trainer "
                         "train --help)): "),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(Planner, ExitCodeTwoFailsAtOnceWithoutRestart) {
  World w = RunningWorld();
  w.pods["r50-launcher"] = Failed(w.pods["r50-launcher"], 2);
  const Plan plan = w.Pass(kT0 + seconds(100));
  EXPECT_EQ(plan.status.phase, "Failed");
  EXPECT_EQ(plan.status.restarts, 0);
  EXPECT_EQ(Cond(plan.status, condition::kFailed).reason, reason::kPermanentError);
  EXPECT_NE(Cond(plan.status, condition::kFailed).message.find("fix spec.trainer"), std::string::npos);
  EXPECT_FALSE(plan.gang_restarted);
}

TEST(Planner, BackoffLimitExhaustedFails) {
  api::TrainingJob job = MakeJob();
  job.spec.run_policy.backoff_limit = 1;
  World w = RunningWorld(job);
  w.pods["r50-worker-3"] = Failed(w.pods["r50-worker-3"], 1);
  EXPECT_EQ(w.Pass(kT0 + seconds(100), NoRestartBackoff()).status.restarts, 1);
  w.Pass(kT0 + seconds(101), NoRestartBackoff());
  w.AllWorkersReady();
  w.Pass(kT0 + seconds(102), NoRestartBackoff());
  w.pods["r50-worker-3"] = Failed(w.pods["r50-worker-3"], 1);
  const Plan plan = w.Pass(kT0 + seconds(103), NoRestartBackoff());
  EXPECT_EQ(plan.status.phase, "Failed");
  EXPECT_EQ(Cond(plan.status, condition::kFailed).reason, reason::kBackoffLimitExceeded);
  EXPECT_NE(Cond(plan.status, condition::kFailed).message.find("backoffLimit is 1"), std::string::npos);
  EXPECT_EQ(plan.status.restarts, 1);
}

TEST(Planner, APodTemplateAskingForPrivilegeIsAnInvalidSpecUnlessTheOperatorAllowsIt) {
  api::TrainingJob job = MakeJob();
  job.spec.pod_template.spec = {{"serviceAccountName", "cluster-admin-bot"}};
  World w(job);
  Plan plan = w.Pass(kT0);
  EXPECT_TRUE(plan.actions.empty()) << "no pod runs with a ServiceAccount the chart did not allow";
  EXPECT_NE(Cond(plan.status, condition::kInvalid).message.find("spec.podTemplate.spec.serviceAccountName"),
            std::string::npos);
  PlannerConfig allowed;
  allowed.pod_template.allow_service_account = true;
  World w2(job);
  EXPECT_FALSE(w2.Pass(kT0, allowed).actions.empty()) << "the chart's opt-in lets the job run";
}

TEST(Planner, InvalidSpecGetsConditionAndEventButNoObjects) {
  api::TrainingJob job = MakeJob();
  job.spec.workers = 0;
  World w(job);
  Plan plan = w.Pass(kT0);
  EXPECT_TRUE(plan.actions.empty());
  EXPECT_EQ(plan.status.phase, "Failed");
  EXPECT_EQ(Cond(plan.status, condition::kInvalid).reason, reason::kInvalidSpec);
  EXPECT_NE(Cond(plan.status, condition::kInvalid).message.find("spec.workers: must be at least 1, got 0"),
            std::string::npos);
  EXPECT_TRUE(HasEvent(plan, reason::kInvalidSpec));
  EXPECT_FALSE(plan.requeue_after) << "a bad spec waits for the user, not for time";
  EXPECT_TRUE(w.Pass(kT0 + seconds(1)).events.empty()) << "the event is not repeated every pass";

  w.job.spec.workers = 2;
  w.job.metadata["generation"] = 2;
  plan = w.Pass(kT0 + seconds(2));
  EXPECT_EQ(Cond(plan.status, condition::kInvalid).status, "False");
  EXPECT_EQ(Count(plan, ActionKind::kCreate, "pods"), 2) << "a fixed spec goes ahead";
  EXPECT_EQ(*plan.status.observed_generation, 2);
}

TEST(Planner, SuspendDeletesPodsAndResumeRecreatesThem) {
  World w = RunningWorld();
  w.job.spec.run_policy.suspend = true;
  Plan plan = w.Pass(kT0 + seconds(100));
  EXPECT_TRUE(w.pods.empty());
  EXPECT_EQ(plan.status.phase, "Suspended");
  EXPECT_EQ(Cond(plan.status, condition::kSuspended).status, "True");
  EXPECT_FALSE(plan.status.start_time);
  EXPECT_EQ(plan.status.restarts, 0) << "suspension is not a failure";
  EXPECT_TRUE(w.service.is_object()) << "Service, hostfile and Secret stay";

  w.job.spec.run_policy.suspend = false;
  plan = w.Pass(kT0 + seconds(200));
  EXPECT_EQ(w.PodNames(), Workers(4));
  EXPECT_EQ(Cond(plan.status, condition::kSuspended).reason, reason::kJobResumed);
  EXPECT_TRUE(HasEvent(plan, reason::kJobResumed));
  EXPECT_FALSE(plan.status.start_time) << "the deadline counts again once the resumed gang runs";
}

TEST(Planner, ActiveDeadlineFailsTheJob) {
  api::TrainingJob job = MakeJob();
  job.spec.run_policy.active_deadline_seconds = 60;
  World w = RunningWorld(job);  // created at kT0, the launcher first seen running at kT0 + 20 s
  EXPECT_EQ(*w.job.status.start_time, "2026-03-01T10:00:20Z") << "the deadline counts from when the gang runs";
  EXPECT_EQ(*w.Pass(kT0 + seconds(30)).requeue_after, seconds(15)) << "progress period comes first";
  EXPECT_EQ(w.Pass(kT0 + seconds(61)).status.phase, "Running") << "scheduling time does not count";
  const Plan plan = w.Pass(kT0 + seconds(81));
  EXPECT_EQ(plan.status.phase, "Failed");
  EXPECT_EQ(Cond(plan.status, condition::kFailed).reason, reason::kDeadlineExceeded);
  EXPECT_EQ(w.PodNames(), std::vector<std::string>{}) << "running pods (launcher included) are deleted";
}

TEST(Planner, TtlDeletesTheFinishedJob) {
  api::TrainingJob job = MakeJob();
  job.spec.run_policy.ttl_seconds_after_finished = 300;
  World w = RunningWorld(job);
  w.pods["r50-launcher"] = Succeeded(w.pods["r50-launcher"]);
  Plan plan = w.Pass(kT0 + seconds(100));
  EXPECT_EQ(*plan.requeue_after, seconds(300));
  plan = w.Pass(kT0 + seconds(399));
  EXPECT_FALSE(w.job_deleted);
  plan = w.Pass(kT0 + seconds(400));
  EXPECT_TRUE(w.job_deleted);
  EXPECT_TRUE(HasEvent(plan, reason::kTtlExpired));
}

TEST(Planner, AllOrNothingAdmissionReleasesAGangThatDoesNotFit) {
  api::TrainingJob job = MakeJob();
  job.spec.scheduling.schedule_timeout_seconds = 60;
  World w(job);
  w.Pass(kT0);
  for (int i = 0; i < 3; ++i) w.pods[Workers(4)[i]] = Scheduled(w.pods[Workers(4)[i]]);
  w.pods["r50-worker-3"] =
      Unschedulable(w.pods["r50-worker-3"], "0/8 nodes are available: 8 Insufficient nvidia.com/gpu.");
  Plan plan = w.Pass(kT0 + seconds(30));
  EXPECT_EQ(plan.status.phase, "Scheduling");
  EXPECT_EQ(*plan.requeue_after, seconds(30));
  EXPECT_NE(Cond(plan.status, condition::kScheduled).message.find("3 of 4 workers scheduled; r50-worker-3: 0/8"),
            std::string::npos)
      << Cond(plan.status, condition::kScheduled).message;

  plan = w.Pass(kT0 + seconds(60));
  EXPECT_TRUE(w.pods.empty()) << "the three scheduled workers are released too";
  EXPECT_EQ(plan.status.admission_retries, 1);
  EXPECT_EQ(plan.status.restarts, 0) << "not fitting is not a failure";
  EXPECT_EQ(Cond(plan.status, condition::kScheduled).reason, reason::kScheduleTimeout);
  EXPECT_NE(Cond(plan.status, condition::kScheduled).message.find("retrying in 30 s"), std::string::npos);
  EXPECT_TRUE(HasEvent(plan, reason::kScheduleTimeout));
  w.Pass(kT0 + seconds(89));
  EXPECT_TRUE(w.pods.empty());
  w.Pass(kT0 + seconds(90));
  EXPECT_EQ(w.PodNames(), Workers(4));
}

TEST(Planner, GangSchedulerGetsAPodGroupOfTheWorkersOnly) {
  for (const char* gang : {"Volcano", "SchedulerPlugins"}) {
    api::TrainingJob job = MakeJob();
    job.spec.scheduling.gang = gang;
    job.spec.scheduling.schedule_timeout_seconds = 60;
    World w(job);
    w.Pass(kT0);
    ASSERT_TRUE(w.pod_group.is_object()) << gang;
    EXPECT_EQ(w.pod_group["spec"]["minMember"], 4) << "the launcher is not a member, so the group cannot deadlock";
    const json& worker = w.pods["r50-worker-0"];
    EXPECT_EQ(worker["spec"]["schedulerName"],
              std::string(gang) == "Volcano" ? "volcano" : "scheduler-plugins-scheduler");
    w.Pass(kT0 + seconds(120));
    EXPECT_EQ(w.pods.size(), 4u) << gang << ": the gang scheduler, not the operator, handles admission";
    w.AllWorkersReady();
    w.Pass(kT0 + seconds(121));
    const json& launcher = w.pods["r50-launcher"];
    EXPECT_FALSE(launcher["spec"].contains("schedulerName")) << "the launcher uses the default scheduler";
    EXPECT_FALSE(launcher["metadata"].contains("annotations"));
    w.pods["r50-launcher"] = Succeeded(w.pods["r50-launcher"]);
    w.Pass(kT0 + seconds(200));
    EXPECT_TRUE(w.pod_group.is_null()) << "the PodGroup goes when the job finishes";
  }
}

TEST(Planner, RefusesObjectsItDoesNotControl) {
  World w(MakeJob());
  w.foreign.push_back({{"kind", "Service"}, {"metadata", {{"name", "r50"}}}});
  const Plan plan = w.Pass(kT0);
  EXPECT_TRUE(plan.actions.empty());
  ASSERT_EQ(plan.events.size(), 1u);
  EXPECT_EQ(plan.events[0].reason, reason::kResourceNotOwned);
  EXPECT_NE(plan.events[0].message.find("Service r50 already exists and is not controlled by TrainingJob r50"),
            std::string::npos);
  EXPECT_EQ(Cond(plan.status, condition::kBlocked).reason, reason::kResourceNotOwned) << "the job says why it waits";
  EXPECT_EQ(*plan.requeue_after, seconds(10)) << "unlabelled objects are not watched: look again soon";
  EXPECT_FALSE(plan.status.start_time);
}

TEST(Planner, EvaluationFollowsTrainingAndReportsAccuracy) {
  api::TrainingJob job = MakeJob();
  job.spec.evaluation.enabled = true;
  World w = RunningWorld(job);
  w.pods["r50-launcher"] = Succeeded(w.pods["r50-launcher"]);
  Plan plan = w.Pass(kT0 + seconds(100));
  EXPECT_EQ(*plan.status.training_completion_time, "2026-03-01T10:01:40Z");
  EXPECT_TRUE(HasEvent(plan, reason::kTrainingSucceeded));
  EXPECT_EQ(plan.status.phase, "Running") << "the job runs on: training is done, evaluation starts";
  ASSERT_TRUE(w.pods.count("r50-eval")) << "workers are still ready: the evaluation starts at once";
  const json args = w.pods["r50-eval"]["spec"]["containers"][0]["args"];
  EXPECT_NE(std::find(args.begin(), args.end(), "--eval"), args.end());
  EXPECT_NE(plan.status.phase, "Succeeded");

  w.pods["r50-eval"] = Running(w.pods["r50-eval"]);
  plan = w.Pass(kT0 + seconds(110));
  EXPECT_EQ(Cond(plan.status, condition::kRunning).reason, reason::kEvaluating);
  w.pods["r50-eval"] = Succeeded(w.pods["r50-eval"], R"({"top1": 0.7612, "top5": 0.9301, "images": 50000, "step": 5})");
  plan = w.Pass(kT0 + seconds(200));
  EXPECT_EQ(plan.status.phase, "Succeeded");
  ASSERT_TRUE(plan.status.evaluation);
  EXPECT_DOUBLE_EQ(*plan.status.evaluation->top1, 0.7612);
  EXPECT_DOUBLE_EQ(*plan.status.evaluation->top5, 0.9301);
  EXPECT_EQ(*plan.status.evaluation->images, 50000);
  EXPECT_EQ(Cond(plan.status, condition::kSucceeded).message, "evaluation finished: top-1 76.12%, top-5 93.01%");
}

TEST(Planner, EvaluateModeRunsOnlyTheEvaluationLauncher) {
  api::TrainingJob job = MakeJob(2, 1);
  job.spec.mode = "Evaluate";
  job.spec.trainer.num_epochs.reset();
  World w(job);
  w.Pass(kT0);
  w.AllWorkersReady();
  w.Pass(kT0 + seconds(1));
  EXPECT_EQ(w.PodNames(), (std::vector<std::string>{"r50-eval", "r50-worker-0", "r50-worker-1"}));
}

TEST(Backoff, DoublesUpToTheCap) {
  const struct {
    int failures;
    int expected;
  } cases[] = {{0, 10}, {1, 20}, {2, 40}, {5, 300}, {50, 300}};
  for (const auto& c : cases) EXPECT_EQ(Backoff(seconds(10), seconds(300), c.failures).count(), c.expected);
  EXPECT_EQ(Backoff(seconds(0), seconds(300), 3).count(), 0);
}

TEST(Conditions, TransitionTimeMovesOnlyWhenStatusChanges) {
  api::TrainingJobStatus s;
  EXPECT_TRUE(SetCondition(s, "Running", true, "A", "m1", "t1"));
  EXPECT_FALSE(SetCondition(s, "Running", true, "A", "m2", "t2")) << "message only: not a change";
  EXPECT_EQ(s.conditions[0].last_transition_time, "t1");
  EXPECT_EQ(s.conditions[0].last_update_time, "t2");
  EXPECT_TRUE(SetCondition(s, "Running", true, "B", "m2", "t3")) << "new reason";
  EXPECT_EQ(s.conditions[0].last_transition_time, "t1");
  EXPECT_TRUE(SetCondition(s, "Running", false, "B", "m2", "t4"));
  EXPECT_EQ(s.conditions[0].last_transition_time, "t4");
  EXPECT_FALSE(ClearCondition(s, "Absent", "R", "m", "t5"));
  EXPECT_EQ(s.conditions.size(), 1u);
}

// A status as a kubelet writes it: the fixtures' fields plus the timestamps, addresses, images and
// IDs that people read and the controller does not.
json AsAKubeletWritesIt(json pod) {
  json& status = pod["status"];
  status["hostIP"] = "10.128.0.7";
  status["podIPs"] = json::array({{{"ip", status.value("podIP", "10.0.1.1")}}});
  status["qosClass"] = "Guaranteed";
  status["startTime"] = "2026-12-04T09:00:00Z";
  for (json& c : status["conditions"]) {
    c["lastProbeTime"] = nullptr;
    c["lastTransitionTime"] = "2026-12-04T09:00:01Z";
  }
  if (!status.contains("containerStatuses")) {
    status["containerStatuses"] = {{{"name", pod["spec"]["containers"][0]["name"]},
                                    {"state", {{"running", {{"startedAt", "2026-12-04T09:00:02Z"}}}}}}};
  }
  for (json& c : status["containerStatuses"]) {
    c["image"] = "registry.example.com/kubecnn/trainer:0.9.0";
    c["imageID"] = "registry.example.com/kubecnn/trainer@sha256:" + std::string(64, 'a');
    c["containerID"] = "containerd://" + std::string(64, 'b');
    c["started"] = true;
    c["ready"] = true;
    c["restartCount"] = 0;
    c["lastState"] = json::object();
    for (auto& [which, detail] : c["state"].items()) detail["startedAt"] = "2026-12-04T09:00:02Z";
  }
  return pod;
}

TEST(PodStatus, ReadsTheSameOfAPodTheInformerTrimmed) {
  const api::DefaultedJob job = api::Defaulted(MakeJob());
  const json worker = WorkerPod(job, 1, 3);
  json terminating = Ready(Scheduled(worker));
  terminating["metadata"]["deletionTimestamp"] = "2026-12-04T10:00:00Z";
  const std::vector<json> pods = {worker,
                                  Scheduled(worker),
                                  Unschedulable(worker, "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."),
                                  Ready(Scheduled(worker)),
                                  Running(Scheduled(LauncherPod(job, kStageTrain, 3))),
                                  Succeeded(Scheduled(LauncherPod(job, kStageTrain, 3)), "top-1 0.76"),
                                  Failed(Scheduled(worker), 2, "Error"),
                                  terminating};
  std::vector<json> with_kubelet_fields = pods;
  for (size_t i = 1; i < pods.size(); ++i) with_kubelet_fields.push_back(AsAKubeletWritesIt(pods[i]));
  for (const json& pod : with_kubelet_fields) {
    json trimmed = pod;
    KeepWhatTheControllerReads(trimmed);
    const std::string name = PodName(pod);
    EXPECT_EQ(PodName(trimmed), name);
    EXPECT_EQ(PodPhase(trimmed), PodPhase(pod)) << name;
    EXPECT_EQ(IsScheduled(trimmed), IsScheduled(pod)) << name;
    EXPECT_EQ(IsReady(trimmed), IsReady(pod)) << name;
    EXPECT_EQ(IsTerminating(trimmed), IsTerminating(pod)) << name;
    EXPECT_EQ(HasSucceeded(trimmed), HasSucceeded(pod)) << name;
    EXPECT_EQ(UnschedulableMessage(trimmed), UnschedulableMessage(pod)) << name;
    EXPECT_EQ(TerminationMessage(trimmed, kRoleLauncher), TerminationMessage(pod, kRoleLauncher)) << name;
    EXPECT_EQ(AttemptOf(trimmed), 3) << name;
    const auto a = FailureOf(pod), b = FailureOf(trimmed);
    ASSERT_EQ(a.has_value(), b.has_value()) << name;
    if (a) {
      EXPECT_EQ(a->why, b->why);
      EXPECT_EQ(a->exit_code, b->exit_code);
    }
    EXPECT_EQ(trimmed["metadata"], pod["metadata"]) << "owner, labels, uid and resourceVersion stay";
    EXPECT_FALSE(trimmed.contains("spec") && trimmed["spec"].contains("containers")) << name;
    EXPECT_LT(trimmed.dump().size(), pod.dump().size() / 2) << name << ": the cache should keep far less";
    if (pod["status"].contains("hostIP")) {
      EXPECT_LT(trimmed["status"].dump().size(), pod["status"].dump().size() / 2)
          << name << ": nor the kubelet's timestamps, images and IDs";
      EXPECT_EQ(trimmed["status"]["containerStatuses"][0]["restartCount"], 0) << name;
      EXPECT_TRUE(trimmed["status"]["containerStatuses"][0]["ready"].get<bool>()) << name;
    }
  }
}

}  // namespace
}  // namespace kubecnn::controller

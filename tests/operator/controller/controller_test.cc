// The controller against the fake API server, the test playing kubelet (writing pod status):
// children created with the builders' content, launcher after ready workers, success and clean-up,
// gang restart, backoffLimit, suspend/resume, cascading delete, invalid spec, a restarted operator
// creating no duplicates, evaluation results, and two replicas of which only the leader acts.
#include "operator/controller/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "operator/api/defaults.h"
#include "operator/controller/builders.h"
#include "operator/controller/conditions.h"
#include "operator/controller/names.h"
#include "operator/controller/pod_builders.h"
#include "operator/kube/leader_election.h"
#include "tests/operator/controller/controller_harness.h"
#include "tests/support/fake_apiserver.h"

namespace kubecnn::controller {
namespace {

using ::kubecnn::testing::FakeApiServer;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FastOptions;
using testing::NewClient;

const ::kubecnn::testing::ApiKind& Kind(const std::string& group, const std::string& version,
                                        const std::string& plural) {
  return *::kubecnn::testing::FindKind(group, version, plural);
}

class ControllerTest : public ::testing::Test, public testing::ControllerHarness {};

TEST_F(ControllerTest, CreateMakesEveryChildWithTheBuildersContent) {
  StartController();
  const json created = CreateJob(testing::MakeJob());
  ASSERT_TRUE(WaitForWorkers(4));
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Scheduling"; }, "status: workers not scheduled yet"));
  const api::DefaultedJob job = api::Defaulted(api::TrainingJobFromJson(created));
  const auto& services = Kind("", "v1", "services");
  const auto& config_maps = Kind("", "v1", "configmaps");
  const auto& secrets = Kind("", "v1", "secrets");
  EXPECT_EQ(server_.store().Get(services, "ml", "r50")["spec"], HeadlessService(job)["spec"]);
  EXPECT_EQ(server_.store().Get(config_maps, "ml", "r50-config")["data"], HostfileConfigMap(job)["data"]);
  const json secret = server_.store().Get(secrets, "ml", SecretName(job));
  EXPECT_EQ(secret["type"], "kubernetes.io/ssh-auth");
  EXPECT_TRUE(secret["data"].contains("ssh-privatekey"));
  for (int i = 0; i < 4; ++i) {
    const json pod = Pods()["r50-worker-" + std::to_string(i)];
    EXPECT_EQ(pod["spec"], WorkerPod(job, i, 0)["spec"]) << i;
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], job.Uid());
  }
  EXPECT_EQ(Pods().count("r50-launcher"), 0u) << "no launcher before the workers are ready";
  const api::TrainingJobStatus st = Status();
  EXPECT_TRUE(IsTrue(st, condition::kCreated));
  EXPECT_EQ(*st.observed_generation, 1);
  EXPECT_EQ(st.workers.desired, 4);
}

// Each answer of the API server 300 ms late: how long a new job's first pass takes.
constexpr milliseconds kAnswerDelay{300};

class GangWritesTest : public ControllerTest {
 protected:
  milliseconds FirstPassOfAGang(int64_t workers) {
    CreateJob(testing::MakeJob(workers, /*slots=*/1));
    StartController(FastOptions(), /*workers=*/false);  // synced: the job is in its cache
    server_.SetResponseDelay(kAnswerDelay);
    const auto started = std::chrono::steady_clock::now();
    controller_->Reconcile("ml/r50");
    const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    server_.SetResponseDelay(milliseconds(0));
    EXPECT_EQ(Pods().size(), static_cast<size_t>(workers));
    return took;
  }
};

TEST_F(GangWritesTest, AGangsPodsGoToTheApiServerSideBySide) {
  const milliseconds took = FirstPassOfAGang(8);
  // Service, hostfile and Secret one after another, then the 8 pods at once: 1.2 s. One at a
  // time, the pods alone would take 2.4 s.
  EXPECT_LT(took, 6 * kAnswerDelay) << "the pass took " << took.count() << " ms: the pod creates went one at a time";
}

// A bigger gang is not as many threads and connections at once: at most 8 of its writes are in
// flight. 20 pods 8 at a time take 3 rounds; all at once, 1.
TEST_F(GangWritesTest, AGangOfTwentyPodsGoesToTheApiServerEightAtATime) {
  const milliseconds took = FirstPassOfAGang(20);
  // Service, hostfile and Secret (3 rounds), then the pods: 3 rounds at most 8 wide.
  EXPECT_GE(took, 6 * kAnswerDelay) << "the pass took " << took.count() << " ms: more than 8 creates were in flight";
  EXPECT_LT(took, 12 * kAnswerDelay) << "the pass took " << took.count()
                                     << " ms: the pod creates were not side by side";
}

// A new job's first pass decides nothing: it creates the children, and the status (with
// JobCreated) comes from the pass that sees them, one status write instead of two. (A create that
// is refused gets it from the pass that tried: BlockedTest.)
TEST_F(ControllerTest, ANewJobsStatusIsWrittenOnceItsChildrenAreSeen) {
  CreateJob(testing::MakeJob());
  StartController(FastOptions(), /*workers=*/false);  // synced: the job is in its cache
  const auto status_writes = [&] {
    int n = 0;
    for (const auto& r : server_.Requests()) {
      n += r.method == "PUT" && r.path.size() > 7 && r.path.compare(r.path.size() - 7, 7, "/status") == 0;
    }
    return n;
  };
  server_.ClearRequests();
  const kube::ReconcileResult first = controller_->Reconcile("ml/r50");
  EXPECT_EQ(Pods().size(), 4u);
  EXPECT_EQ(status_writes(), 0) << "the first pass only creates";
  EXPECT_EQ(Status(), api::TrainingJobStatus{});
  EXPECT_GT(first.requeue_after, kube::Duration::zero()) << "a next pass is due even if no watch event brought one";
  EXPECT_LE(first.requeue_after, std::chrono::seconds(2));
  ASSERT_TRUE(WaitFor([&] { return controller_->Reconcile("ml/r50"), IsTrue(Status(), condition::kCreated); },
                      "JobCreated once the children are in the cache"));
  EXPECT_EQ(Status().phase, "Scheduling");
  EXPECT_EQ(Status().workers.desired, 4);
  EXPECT_EQ(status_writes(), 1);
  ASSERT_EQ(Events(reason::kJobCreated).size(), 1u);
  EXPECT_EQ(Events(reason::kJobCreated)[0]["count"], 1);
}

// The pass after the first may still create (here a PodGroup someone deleted) and already decide
// (JobCreated): that decision is written before its Event, so it is made once.
TEST_F(ControllerTest, ASecondPassThatCreatesAndDecidesWritesTheStatusBeforeItsEvent) {
  api::TrainingJob job = testing::MakeJob();
  job.spec.scheduling.gang = "Volcano";
  CreateJob(job);
  StartController(FastOptions(), /*workers=*/false);
  controller_->Reconcile("ml/r50");
  ASSERT_EQ(Pods().size(), 4u);
  server_.store().Delete(Kind("scheduling.volcano.sh", "v1beta1", "podgroups"), "ml", "r50", "", nullptr);
  for (int i = 0; i < 4; ++i) Kubelet("r50-worker-" + std::to_string(i), [](json p) { return testing::Scheduled(p); });
  std::this_thread::sleep_for(milliseconds(300));  // the operator's caches see the children and the deletion
  controller_->Reconcile("ml/r50");
  EXPECT_TRUE(server_.store().Get(Kind("scheduling.volcano.sh", "v1beta1", "podgroups"), "ml", "r50").is_object());
  ASSERT_EQ(Events(reason::kJobCreated).size(), 1u);
  EXPECT_TRUE(IsTrue(Status(), condition::kCreated)) << "JobCreated recorded, yet not in status";
  ASSERT_TRUE(WaitFor([&] { return controller_->Reconcile("ml/r50"), Status().workers.desired == 4; }, "settled"));
  controller_->Reconcile("ml/r50");
  EXPECT_EQ(Events(reason::kJobCreated)[0]["count"], 1) << "JobCreated recorded twice";
}

TEST_F(ControllerTest, ReadyWorkersGetALauncherAndSuccessCleansUp) {
  StartController();
  scraper_->Set(api::Progress{2, 500, std::nullopt, 1234.5, 4.5, 0.1, std::nullopt, std::nullopt});
  RunToLauncher();
  EXPECT_EQ(Pods()["r50-launcher"]["spec"]["containers"][0]["args"][4], "32") << "-np workers*slots";
  ASSERT_TRUE(WaitFor([&] { return Status().progress && Status().progress->step == 500; }, "progress"));
  EXPECT_DOUBLE_EQ(*Status().progress->images_per_second, 1234.5);
  EXPECT_EQ(scraper_->hosts().at(0), "10.0.0.1:9400") << "rank 0: worker 0, local rank 0";
  Kubelet("r50-launcher", [](json p) { return testing::Succeeded(p); });
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Succeeded"; }, "Succeeded"));
  ASSERT_TRUE(WaitFor([&] { return Pods().size() == 1; }, "running workers deleted"));
  EXPECT_EQ(Pods().begin()->first, "r50-launcher") << "the finished launcher stays for its logs";
  EXPECT_TRUE(Status().completion_time);
  EXPECT_TRUE(WaitFor([&] { return controller_->metrics().JobsInPhase("Succeeded") == 1; }, "phase metric"));
}

TEST_F(ControllerTest, WorkerFailureRestartsTheWholeGang) {
  StartController();
  RunToLauncher();
  std::map<std::string, std::string> old_uids;
  for (const auto& [name, pod] : Pods()) old_uids[name] = pod["metadata"]["uid"];
  Kubelet("r50-worker-1", [](json p) { return testing::Failed(p, 137, "OOMKilled"); });
  ASSERT_TRUE(WaitFor([&] { return Status().restarts == 1; }, "restarts=1"));
  EXPECT_TRUE(IsTrue(Status(), condition::kRestarting));
  ASSERT_TRUE(WaitForWorkers(4, "1"));
  for (const auto& [name, pod] : Pods()) EXPECT_NE(pod["metadata"]["uid"], old_uids[name]) << name << " is new";
  EXPECT_EQ(Pods().count("r50-launcher"), 0u) << "a launcher still running goes with its gang";
  EXPECT_EQ(Status().phase, "Restarting");
  WorkersReady(4);
  ASSERT_TRUE(WaitFor([&] { return Pods().count("r50-launcher-1") == 1; }, "new launcher"));
  EXPECT_EQ(Pods()["r50-launcher-1"]["metadata"]["labels"][kLabelAttempt], "1");
  Kubelet("r50-launcher-1", [](json p) { return testing::Running(p); });
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Running"; }, "running again"));
  EXPECT_EQ(controller_->metrics().GangRestarts(), 1);
}

TEST_F(ControllerTest, BackoffLimitExhaustedFailsTheJob) {
  StartController();
  api::TrainingJob job = testing::MakeJob(2, 1);
  job.spec.run_policy.backoff_limit = 0;
  RunToLauncher(job);
  Kubelet("r50-worker-0", [](json p) { return testing::Evicted(p); });
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Failed"; }, "Failed"));
  EXPECT_EQ(FindCondition(Status(), condition::kFailed)->reason, reason::kBackoffLimitExceeded);
  ASSERT_TRUE(WaitFor([&] { return Pods().size() == 1; }, "clean-up of running pods"));
  EXPECT_EQ(Pods().count("r50-worker-0"), 1u) << "the failed pod stays (cleanPodPolicy Running)";
}

TEST_F(ControllerTest, SuspendRemovesPodsAndResumeBringsThemBack) {
  StartController();
  RunToLauncher();
  client_->MergePatch(kube::resources::kTrainingJobs, "ml", "r50", {{"spec", {{"runPolicy", {{"suspend", true}}}}}});
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Suspended" && Pods().empty(); }, "suspended, no pods"));
  client_->MergePatch(kube::resources::kTrainingJobs, "ml", "r50", {{"spec", {{"runPolicy", {{"suspend", false}}}}}});
  ASSERT_TRUE(WaitForWorkers(4, "1"));
  EXPECT_EQ(FindCondition(Status(), condition::kSuspended)->reason, reason::kJobResumed);
  EXPECT_EQ(Status().restarts, 0);
}

TEST_F(ControllerTest, DeletingTheJobCascadesAndNothingIsRecreated) {
  StartController();
  CreateJob(testing::MakeJob());
  ASSERT_TRUE(WaitForWorkers(4));
  ASSERT_TRUE(WaitFor([&] { return controller_->metrics().JobsInPhase("Scheduling") == 1; }, "phase Scheduling"));
  client_->Delete(kube::resources::kTrainingJobs, "ml", "r50", {"Background", "", "", std::nullopt});
  ASSERT_TRUE(WaitFor([&] { return Pods().empty(); }, "pods gone"));
  // The controller has seen the job go (its phase gauge dropped it); every pass from then on finds
  // no job. Stopping the workers waits for a pass still in flight. (One that began before may
  // have re-created a child: it names the deleted job as owner, so the collector removes it.)
  ASSERT_TRUE(WaitFor([&] { return controller_->metrics().JobsInPhase("Scheduling") == 0; }, "the job's delete seen"));
  controller_->StopWorkers();
  EXPECT_TRUE(Pods().empty()) << "the controller must not re-create children of a deleted job";
  EXPECT_EQ(server_.store().Count(Kind("", "v1", "configmaps")), 0u);
  EXPECT_EQ(server_.store().Count(Kind("", "v1", "services")), 0u);
  EXPECT_EQ(server_.store().Count(Kind("", "v1", "secrets")), 0u);
}

TEST_F(ControllerTest, InvalidSpecGetsConditionAndEventAndNoPods) {
  StartController();
  api::TrainingJob job = testing::MakeJob();
  job.spec.workers = 0;
  CreateJob(job);
  ASSERT_TRUE(WaitFor([&] { return IsTrue(Status(), condition::kInvalid); }, "Invalid"));
  EXPECT_NE(FindCondition(Status(), condition::kInvalid)->message.find("spec.workers: must be at least 1"),
            std::string::npos);
  ASSERT_TRUE(WaitFor(
      [&] {
        const json events =
            server_.store().List(Kind("", "v1", "events"), ::kubecnn::testing::MakeFilter("ml", "", ""), 0, "");
        for (const json& e : events["items"]) {
          if (e["reason"] == reason::kInvalidSpec && e["involvedObject"]["name"] == "r50") return true;
        }
        return false;
      },
      "an InvalidSpec event"));
  EXPECT_TRUE(Pods().empty());
  EXPECT_EQ(server_.store().Count(Kind("", "v1", "services")), 0u);
}

TEST_F(ControllerTest, EventsNameTheReportingControllerAndReplica) {
  ControllerOptions options = FastOptions();
  options.instance = "kubecnn-operator-7d9f_123456";
  StartController(options);
  api::TrainingJob job = testing::MakeJob();
  job.spec.workers = 0;
  CreateJob(job);
  ASSERT_TRUE(WaitFor([&] { return !Events(reason::kInvalidSpec).empty(); }, "an InvalidSpec event"));
  const json event = Events(reason::kInvalidSpec)[0];
  EXPECT_EQ(event["reportingComponent"], "kubecnn-operator");
  EXPECT_EQ(event["reportingInstance"], "kubecnn-operator-7d9f_123456");
  EXPECT_EQ(event["source"]["component"], "kubecnn-operator");
  EXPECT_EQ(event["source"]["host"], "kubecnn-operator-7d9f_123456");
}

TEST_F(ControllerTest, MalformedObjectIsReportedInvalid) {
  StartController();
  json object = api::ToJson(testing::MakeJob());
  object.erase("status");
  object["metadata"].erase("uid");
  object["spec"]["workers"] = "four";  // what a CRD without our schema would let through
  client_->Create(kube::resources::kTrainingJobs, "ml", object);
  ASSERT_TRUE(WaitFor([&] { return IsTrue(Status(), condition::kInvalid); }, "Invalid"));
  EXPECT_NE(FindCondition(Status(), condition::kInvalid)->message.find("spec.workers: expected an integer"),
            std::string::npos);
  EXPECT_EQ(Status().phase, "Failed");
  EXPECT_TRUE(Pods().empty());
}

TEST_F(ControllerTest, ForeignObjectOfAChildsNameStopsTheJob) {
  StartController();
  client_->Create(kube::resources::kServices, "ml",
                  {{"metadata", {{"name", "r50"}}}, {"spec", {{"ports", {{{"port", 80}}}}}}});
  CreateJob(testing::MakeJob());
  ASSERT_TRUE(WaitFor(
      [&] {
        const json events =
            server_.store().List(Kind("", "v1", "events"), ::kubecnn::testing::MakeFilter("ml", "", ""), 0, "");
        for (const json& e : events["items"]) {
          if (e["reason"] == reason::kResourceNotOwned) {
            return e["message"].get<std::string>().find("Service r50 already exists") != std::string::npos;
          }
        }
        return false;
      },
      "a ResourceNotOwned event"));
  EXPECT_TRUE(Pods().empty()) << "no pods behind a Service the job does not control";
  EXPECT_FALSE(server_.store().Get(Kind("", "v1", "services"), "ml", "r50")["metadata"].contains("ownerReferences"))
      << "the foreign Service is left alone";
}

TEST_F(ControllerTest, RestartedOperatorCreatesNoDuplicates) {
  StartController();
  RunToLauncher();
  std::map<std::string, std::string> uids;
  for (const auto& [name, pod] : Pods()) uids[name] = pod["metadata"]["uid"];
  StopController();
  server_.ClearRequests();
  const size_t scrapes = scraper_->hosts().size();
  StartController();
  // Several passes, one of them after a progress period (it scrapes), then no pass in flight.
  ASSERT_TRUE(WaitFor([&] { return controller_->metrics().Reconciles() >= 3 && scraper_->hosts().size() > scrapes; },
                      "three passes and a scrape"));
  controller_->StopWorkers();
  EXPECT_EQ(Creates("/pods") + Creates("/services") + Creates("/configmaps") + Creates("/secrets"), 0);
  for (const auto& [name, pod] : Pods()) EXPECT_EQ(pod["metadata"]["uid"], uids[name]) << name;
  EXPECT_EQ(Status().phase, "Running");
  EXPECT_EQ(Status().restarts, 0);
}

TEST_F(ControllerTest, EvaluationResultReachesStatus) {
  StartController();
  api::TrainingJob job = testing::MakeJob(2, 1);
  job.spec.evaluation.enabled = true;
  RunToLauncher(job);
  Kubelet("r50-launcher", [](json p) { return testing::Succeeded(p); });
  ASSERT_TRUE(WaitFor([&] { return Pods().count("r50-eval") == 1; }, "the evaluation launcher"));
  Kubelet("r50-eval",
          [](json p) { return testing::Succeeded(p, R"({"top1": 0.761, "top5": 0.93, "images": 50000})"); });
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Succeeded"; }, "Succeeded"));
  ASSERT_TRUE(Status().evaluation);
  EXPECT_DOUBLE_EQ(*Status().evaluation->top1, 0.761);
  EXPECT_EQ(*Status().evaluation->images, 50000);
}

TEST_F(ControllerTest, VolcanoGangGetsAPodGroup) {
  StartController();
  api::TrainingJob job = testing::MakeJob(3, 2);
  job.spec.scheduling.gang = "Volcano";
  job.spec.scheduling.queue = "training";
  CreateJob(job);
  ASSERT_TRUE(WaitForWorkers(3));
  const json pg = server_.store().Get(Kind("scheduling.volcano.sh", "v1beta1", "podgroups"), "ml", "r50");
  EXPECT_EQ(pg["spec"]["minMember"], 3);
  EXPECT_EQ(pg["spec"]["queue"], "training");
  EXPECT_EQ(Pods()["r50-worker-0"]["metadata"]["annotations"]["scheduling.k8s.io/group-name"], "r50");
}

TEST(ControllerLeader, TwoReplicasOnlyTheLeaderActsAndTheStandbyTakesOver) {
  FakeApiServer server;
  struct Replica {
    std::unique_ptr<kube::Client> client;
    prometheus::Registry registry;
    std::unique_ptr<Controller> controller;
    std::unique_ptr<kube::LeaderElector> elector;
    kube::StopSignal stop;
    std::thread thread;
  };
  std::atomic<int> standby_saw_leader{0};
  Replica replicas[2];
  for (int i = 0; i < 2; ++i) {
    Replica& r = replicas[i];
    r.client = NewClient(server);
    r.controller = std::make_unique<Controller>(*r.client, FastOptions(), nullptr, r.registry);
    r.controller->StartInformers();
    ASSERT_TRUE(r.controller->WaitForSync(seconds(5)));
    kube::LeaderElectionConfig config;
    config.ns = "ml";
    config.identity = "replica-" + std::to_string(i);
    config.lease_duration = seconds(1);
    config.renew_deadline = milliseconds(600);
    config.retry_period = milliseconds(100);
    Controller* c = r.controller.get();
    std::function<void(const std::string&)> seen;
    if (i == 1) seen = [&](const std::string& holder) { standby_saw_leader += holder == "replica-0"; };
    r.elector = std::make_unique<kube::LeaderElector>(
        *r.client, config, kube::LeaderElector::Callbacks{[c] { c->StartWorkers(); }, [c] { c->StopWorkers(); }, seen});
    r.thread = std::thread([&r] { r.elector->Run(r.stop); });
    if (i == 0) {
      const auto deadline = std::chrono::steady_clock::now() + seconds(5);
      while (!r.elector->IsLeader() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(milliseconds(10));
      ASSERT_TRUE(r.elector->IsLeader());
    }
  }
  // The standby has read the Lease and seen replica-0 hold it: from then on it only watches.
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (standby_saw_leader.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_GT(standby_saw_leader.load(), 0);
  EXPECT_TRUE(replicas[0].controller->WorkersRunning());
  EXPECT_FALSE(replicas[1].controller->WorkersRunning()) << "the standby keeps caches but does not reconcile";

  json job = api::ToJson(testing::MakeJob(2, 1));
  job.erase("status");
  job["metadata"].erase("uid");
  replicas[0].client->Create(kube::resources::kTrainingJobs, "ml", job);
  const auto& pods = *::kubecnn::testing::FindKind("", "v1", "pods");
  const auto count_pods = [&] { return server.store().Count(pods); };
  deadline = std::chrono::steady_clock::now() + seconds(10);
  while (count_pods() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  ASSERT_EQ(count_pods(), 2u);

  replicas[0].stop.Stop();  // SIGTERM: releases the lease
  replicas[0].thread.join();
  EXPECT_FALSE(replicas[0].controller->WorkersRunning());
  deadline = std::chrono::steady_clock::now() + seconds(3);
  while (!replicas[1].controller->WorkersRunning() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(replicas[1].controller->WorkersRunning()) << "the standby took over";
  for (int i = 0; i < 2; ++i) {
    json pod = server.store().Get(pods, "ml", "r50-worker-" + std::to_string(i));
    pod = testing::Ready(pod);
    pod["metadata"].erase("resourceVersion");
    server.store().Update(pods, "ml", pod["metadata"]["name"], pod, true);
  }
  deadline = std::chrono::steady_clock::now() + seconds(10);
  while (count_pods() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(count_pods(), 3u) << "the new leader created the launcher, and no duplicate workers";
  replicas[1].stop.Stop();
  replicas[1].thread.join();
}

}  // namespace
}  // namespace kubecnn::controller

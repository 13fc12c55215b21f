// Per-job NetworkPolicies: what each selects and admits (checked against the labels of the pods the
// same job's builders make, and another job's), the flag parser of their peers, and the planner
// making them only with --network_policies, before any pod of the gang.
#include "operator/controller/network_policy.h"

#include <gtest/gtest.h>

#include "operator/api/defaults.h"
#include "operator/api/time_format.h"
#include "operator/controller/builders.h"
#include "operator/controller/conditions.h"
#include "operator/controller/names.h"
#include "operator/controller/planner.h"
#include "operator/controller/pod_builders.h"
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::MakeJob;

const json kOperatorPeer = json::parse(
    R"({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kubecnn-system"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "kubecnn-operator"}}})");
const json kPrometheusPeer =
    json::parse(R"({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}})");

NetworkPolicyConfig Config(json operator_from = json::array({kOperatorPeer}),
                           json metrics_from = json::array({kPrometheusPeer})) {
  NetworkPolicyConfig c;
  c.enabled = true;
  c.operator_from = std::move(operator_from);
  c.metrics_from = std::move(metrics_from);
  return c;
}

// Whether a same-namespace selector's matchLabels select a pod (every label present and equal).
bool Selects(const json& selector, const json& pod) {
  const json& labels = pod["metadata"]["labels"];
  for (const auto& [key, value] : selector.at("matchLabels").items()) {
    if (!labels.contains(key) || labels[key] != value) return false;
  }
  return selector.size() == 1;  // matchLabels only: no matchExpressions this check ignores
}

api::DefaultedJob OtherJob() {
  api::TrainingJob other = MakeJob(2, 1);
  other.metadata["name"] = "other";
  other.metadata["uid"] = "other-uid";
  return api::Defaulted(other);
}

TEST(NetworkPolicy, WorkersAdmitTheirGangOnAnyPortAndTheMetricsPeersOnTheMetricsPortsOnly) {
  const api::DefaultedJob job = api::Defaulted(MakeJob(4, 8));
  const json policy = WorkerNetworkPolicy(job, Config());
  EXPECT_EQ(policy["apiVersion"], "networking.k8s.io/v1");
  EXPECT_EQ(policy["kind"], "NetworkPolicy");
  EXPECT_EQ(policy["metadata"]["name"], "r50-workers");
  EXPECT_EQ(policy["metadata"]["namespace"], "ml");
  EXPECT_TRUE(IsControlledBy(policy, "job-uid")) << "garbage-collected with the job, like every child";
  EXPECT_EQ(policy["metadata"]["labels"], JobLabels(job)) << "so the operator's label-selected informer sees it";
  const json& spec = policy["spec"];
  EXPECT_EQ(spec["podSelector"], json::parse(R"({"matchLabels": {"kubecnn.io/job-name": "r50",
                                                                  "kubecnn.io/role": "worker"}})"));
  EXPECT_EQ(spec["policyTypes"], json::parse(R"(["Ingress"])")) << "egress stays open (S3, the API, DNS)";
  ASSERT_EQ(spec["ingress"].size(), 2u);
  EXPECT_EQ(spec["ingress"][0], json::parse(R"({"from": [{"podSelector": {"matchLabels":
                                                    {"kubecnn.io/job-name": "r50"}}}]})"))
      << "the gang, on every port: sshd 2222, NCCL and ORTE pick theirs";
  EXPECT_EQ(spec["ingress"][1]["from"], json::array({kOperatorPeer, kPrometheusPeer}));
  EXPECT_EQ(spec["ingress"][1]["ports"], json::parse(R"([{"protocol": "TCP", "port": 9400, "endPort": 9407}])"))
      << "9400 + local rank, one port per slot";

  const json one_slot = WorkerNetworkPolicy(api::Defaulted(MakeJob(2, 1)), Config());
  EXPECT_EQ(one_slot["spec"]["ingress"][1]["ports"], json::parse(R"([{"protocol": "TCP", "port": 9400}])"));
}

TEST(NetworkPolicy, WithoutMetricsPeersNoRuleAdmitsEveryone) {
  // An ingress rule with no `from` admits every source: none may be written for an empty list.
  const json policy = WorkerNetworkPolicy(api::Defaulted(MakeJob(2, 1)), Config(json::array(), json::array()));
  ASSERT_EQ(policy["spec"]["ingress"].size(), 1u);
  EXPECT_TRUE(policy["spec"]["ingress"][0].contains("from"));
  const json only_operator = WorkerNetworkPolicy(api::Defaulted(MakeJob(2, 1)), Config());
  EXPECT_EQ(only_operator["spec"]["ingress"].size(), 2u);
  const json only_prometheus =
      WorkerNetworkPolicy(api::Defaulted(MakeJob(2, 1)), Config(json::array(), json::array({kPrometheusPeer})));
  EXPECT_EQ(only_prometheus["spec"]["ingress"][1]["from"], json::array({kPrometheusPeer}));
}

TEST(NetworkPolicy, LauncherAdmitsOnlyItsOwnWorkers) {
  const api::DefaultedJob job = api::Defaulted(MakeJob(2, 1));
  const json policy = LauncherNetworkPolicy(job);
  EXPECT_EQ(policy["metadata"]["name"], "r50-launcher");
  EXPECT_TRUE(IsControlledBy(policy, "job-uid"));
  EXPECT_EQ(policy["spec"]["podSelector"], json::parse(R"({"matchLabels": {"kubecnn.io/job-name": "r50",
                                                                            "kubecnn.io/role": "launcher"}})"));
  EXPECT_EQ(policy["spec"]["ingress"], json::parse(R"([{"from": [{"podSelector": {"matchLabels":
      {"kubecnn.io/job-name": "r50", "kubecnn.io/role": "worker"}}}]}])"));
}

TEST(NetworkPolicy, SelectorsMatchTheGangsPodsAndNotAnotherJobs) {
  const api::DefaultedJob job = api::Defaulted(MakeJob(2, 1));
  const api::DefaultedJob other = OtherJob();
  const json workers = WorkerNetworkPolicy(job, Config());
  const json launcher = LauncherNetworkPolicy(job);
  const json gang = workers["spec"]["ingress"][0]["from"][0]["podSelector"];
  const json launcher_from = launcher["spec"]["ingress"][0]["from"][0]["podSelector"];
  for (const int64_t attempt : {0, 3}) {
    const json worker = WorkerPod(job, 1, attempt);
    const json train = LauncherPod(job, kStageTrain, attempt);
    const json eval = LauncherPod(job, kStageEvaluate, attempt);
    EXPECT_TRUE(Selects(workers["spec"]["podSelector"], worker));
    EXPECT_FALSE(Selects(workers["spec"]["podSelector"], train)) << "the launcher has its own policy";
    EXPECT_TRUE(Selects(launcher["spec"]["podSelector"], train));
    EXPECT_TRUE(Selects(launcher["spec"]["podSelector"], eval)) << "the evaluation launcher too";
    EXPECT_FALSE(Selects(launcher["spec"]["podSelector"], worker));
    EXPECT_TRUE(Selects(gang, worker)) << "workers reach each other (NCCL)";
    EXPECT_TRUE(Selects(gang, train)) << "the launcher reaches the workers' sshd";
    EXPECT_TRUE(Selects(launcher_from, worker)) << "ORTE's daemons call mpirun back";
    EXPECT_FALSE(Selects(launcher_from, train));
  }
  for (const json& stranger : {WorkerPod(other, 0, 0), LauncherPod(other, kStageTrain, 0)}) {
    EXPECT_FALSE(Selects(gang, stranger)) << stranger["metadata"]["name"];
    EXPECT_FALSE(Selects(launcher_from, stranger)) << stranger["metadata"]["name"];
    EXPECT_FALSE(Selects(workers["spec"]["podSelector"], stranger));
    EXPECT_FALSE(Selects(launcher["spec"]["podSelector"], stranger));
  }
}

TEST(NetworkPolicy, PeersFlagTakesAJsonListOfPeersAndNamesWhatIsWrong) {
  EXPECT_EQ(ParseNetworkPolicyPeers("f", ""), json::array());
  EXPECT_EQ(ParseNetworkPolicyPeers("f", "[]"), json::array());
  EXPECT_EQ(ParseNetworkPolicyPeers("f", "[" + kOperatorPeer.dump() + "]"), json::array({kOperatorPeer}));
  EXPECT_EQ(ParseNetworkPolicyPeers("f", R"([{"ipBlock": {"cidr": "10.0.0.0/8"}}])")[0]["ipBlock"]["cidr"],
            "10.0.0.0/8");
  const auto refusal = [](const std::string& text) {
    try {
      ParseNetworkPolicyPeers("network_policy_metrics_from", text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal("{nope").find("--network_policy_metrics_from: not JSON"), std::string::npos) << refusal("{nope");
  EXPECT_NE(refusal(R"({"podSelector": {}})").find("not a JSON list"), std::string::npos);
  EXPECT_NE(refusal(R"([{}])").find("entry 0 is not a NetworkPolicyPeer"), std::string::npos);
  EXPECT_NE(refusal(R"(["monitoring"])").find("entry 0 is not a NetworkPolicyPeer"), std::string::npos);
  EXPECT_NE(refusal(R"([{"podSelector": {}}, {"ports": [9400]}])").find("entry 1 has \"ports\""), std::string::npos);
  EXPECT_NE(refusal(R"([{"podSelector": "prometheus"}])").find("podSelector that is not an object"), std::string::npos);
}

// ---- the planner ----

const kube::WallTime kT0 = *api::ParseTime("2026-03-01T10:00:00Z");

int Creates(const Plan& plan, const std::string& plural) {
  int n = 0;
  for (const Action& a : plan.actions) n += a.kind == ActionKind::kCreate && a.resource.plural == plural;
  return n;
}

// The world after the first pass: Service, ConfigMap and Secret in place.
Observed WithBasics(const api::TrainingJob& job) {
  const api::DefaultedJob d = api::Defaulted(job);
  Observed o;
  o.service = HeadlessService(d);
  o.config_map = HostfileConfigMap(d);
  o.secret = SshSecret(d, {"k", "p"});
  return o;
}

TEST(NetworkPolicyPlanner, OffByDefaultNoPolicyIsMadeAndWorkersComeAtOnce) {
  const api::TrainingJob job = MakeJob(2, 1);
  const Plan plan = Reconcile(job, Observed{}, kT0);
  EXPECT_EQ(Creates(plan, "networkpolicies"), 0);
  EXPECT_EQ(Creates(plan, "pods"), 2);
}

TEST(NetworkPolicyPlanner, OnBothPoliciesComeFirstAndTheGangWaitsForThem) {
  api::TrainingJob job = MakeJob(2, 1);
  PlannerConfig config;
  config.network_policy = Config();
  Plan plan = Reconcile(job, Observed{}, kT0, config);
  EXPECT_EQ(Creates(plan, "networkpolicies"), 2);
  EXPECT_EQ(Creates(plan, "pods"), 0) << "no member may run before its policy is in place";
  std::vector<std::string> order;
  for (const Action& a : plan.actions) order.push_back(a.resource.plural + "/" + a.name);
  EXPECT_EQ(order, (std::vector<std::string>{"services/r50", "configmaps/r50-config", "secrets/r50-ssh-job-uid",
                                             "networkpolicies/r50-workers", "networkpolicies/r50-launcher"}));
  const api::DefaultedJob d = api::Defaulted(job);
  EXPECT_EQ(plan.actions[3].object, WorkerNetworkPolicy(d, config.network_policy));
  EXPECT_EQ(plan.actions[4].object, LauncherNetworkPolicy(d));
  job.status = plan.status;

  Observed o = WithBasics(job);
  o.worker_policy = plan.actions[3].object;
  plan = Reconcile(job, o, kT0 + seconds(1), config);
  EXPECT_EQ(Creates(plan, "networkpolicies"), 1) << "the launcher's is still missing";
  EXPECT_EQ(Creates(plan, "pods"), 0);
  job.status = plan.status;

  o.launcher_policy = LauncherNetworkPolicy(d);
  plan = Reconcile(job, o, kT0 + seconds(2), config);
  EXPECT_EQ(Creates(plan, "networkpolicies"), 0);
  EXPECT_EQ(Creates(plan, "pods"), 2);
  const api::Condition* created = FindCondition(plan.status, condition::kCreated);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->message, "headless Service, hostfile ConfigMap, SSH Secret and NetworkPolicies in place");
}

TEST(NetworkPolicyPlanner, APolicyLeftByOtherFlagsIsBroughtBackToTheOperatorsFlags) {
  api::TrainingJob job = MakeJob(2, 1);
  const api::DefaultedJob d = api::Defaulted(job);
  PlannerConfig config;
  config.network_policy = Config();
  Observed o = WithBasics(job);
  o.worker_policy = WorkerNetworkPolicy(d, Config(json::array({kOperatorPeer}), json::array()));  // no Prometheus
  o.worker_policy["metadata"]["resourceVersion"] = "7";
  o.launcher_policy = LauncherNetworkPolicy(d);
  const Plan plan = Reconcile(job, o, kT0, config);
  ASSERT_EQ(plan.actions.size(), 3u) << "one update, then the two workers";
  EXPECT_EQ(plan.actions[0].kind, ActionKind::kUpdate);
  EXPECT_EQ(plan.actions[0].resource.plural, "networkpolicies");
  EXPECT_EQ(plan.actions[0].object["metadata"]["resourceVersion"], "7") << "conditional on what was read";
  EXPECT_EQ(plan.actions[0].object["spec"], WorkerNetworkPolicy(d, config.network_policy)["spec"]);
}

}  // namespace
}  // namespace kubecnn::controller

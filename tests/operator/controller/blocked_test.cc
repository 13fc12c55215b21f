// A job the API server stops says why on the job (condition Blocked and an Event), not only in the
// operator's log: RBAC as the chart grants it under OwnerReferencesPermissionEnforcement, a verb
// the ServiceAccount lacks, a gang scheduler that is not installed, an object of a child's name
// that another owner holds. Each clears, and the job proceeds, once the obstacle goes.
#include <gtest/gtest.h>

#include <thread>

#include "operator/controller/conditions.h"
#include "tests/operator/controller/controller_harness.h"
#include "tests/operator/controller/job_fixtures.h"
#include "tests/support/apiserver_rbac.h"

namespace kubecnn::controller {
namespace {

using ::kubecnn::testing::LoadPolicyRules;
using ::kubecnn::testing::PolicyRule;
using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kToken = "operator-token";
constexpr const char* kUser = "system:serviceaccount:kubecnn-system:kubecnn-operator";

std::vector<PolicyRule> ChartRules() {
  return LoadPolicyRules(std::string(KUBECNN_SOURCE_DIR) + "/manifests/rbac/cluster_role.yaml");
}

class BlockedTest : public ::testing::Test, public testing::ControllerHarness {
 protected:
  // The operator runs on the chart's ClusterRole (or `rules`), with the admission plugin on.
  void UseRbac(std::vector<PolicyRule> rules) {
    server_.SetRbac(kToken, kUser, std::move(rules));
    controller_token_ = kToken;
  }
  api::Condition Blocked() {
    const api::TrainingJobStatus status = Status();
    const api::Condition* c = FindCondition(status, condition::kBlocked);
    return c ? *c : api::Condition{};
  }
};

TEST_F(BlockedTest, ChartRbacSufficesUnderOwnerReferencesPermissionEnforcement) {
  UseRbac(ChartRules());
  StartController();
  RunToLauncher(testing::MakeJob(2, 1));
  Kubelet("r50-launcher", [](json p) { return testing::Succeeded(p); });
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Succeeded"; }, "Succeeded"));
  EXPECT_EQ(FindCondition(Status(), condition::kBlocked), nullptr) << "nothing was refused";
}

// Least privilege: the operator may create Secrets but not read them, so it cannot read every
// Secret of the cluster. The SSH Secret's name carries the job's uid, so an existing one is the
// job's own, from an earlier pass.
TEST_F(BlockedTest, OperatorRunsJobsWithoutReadingSecrets) {
  std::vector<PolicyRule> rules = ChartRules();
  for (const PolicyRule& rule : rules) {
    if (rule.resources.count("secrets")) {
      EXPECT_EQ(rule.verbs, (std::set<std::string>{"create"})) << "the chart grants only create on Secrets";
    }
  }
  UseRbac(rules);
  StartController();
  RunToLauncher(testing::MakeJob(2, 1));
  StopController();  // a restarted operator finds the Secret by creating it again (409)
  StartController();
  Kubelet("r50-launcher", [](json p) { return testing::Succeeded(p); });
  ASSERT_TRUE(WaitFor([&] { return Status().phase == "Succeeded"; }, "Succeeded"));
  EXPECT_EQ(FindCondition(Status(), condition::kBlocked), nullptr) << "nothing was refused";
}

TEST_F(BlockedTest, ForbiddenCreateShowsOnTheJobUntilRbacIsFixed) {
  std::vector<PolicyRule> rules = ChartRules();
  for (PolicyRule& rule : rules) {
    if (rule.resources.count("pods")) rule.verbs.erase("create");
  }
  UseRbac(rules);
  StartController();
  CreateJob(testing::MakeJob(2, 1));
  ASSERT_TRUE(WaitFor([&] { return Blocked().status == "True"; }, "condition Blocked"));
  EXPECT_EQ(Blocked().reason, reason::kForbidden);
  EXPECT_NE(Blocked().message.find("cannot create resource \"pods\""), std::string::npos) << Blocked().message;
  EXPECT_NE(Blocked().message.find("clusterrole.yaml"), std::string::npos) << "says where to grant it";
  ASSERT_TRUE(WaitFor([&] { return !Events(reason::kForbidden).empty(); }, "a Forbidden event"));
  EXPECT_EQ(Events(reason::kForbidden)[0]["type"], "Warning");

  UseRbac(ChartRules());  // the administrator grants it; no event reaches the operator
  ASSERT_TRUE(WaitForWorkers(2));
  ASSERT_TRUE(WaitFor([&] { return Blocked().status == "False"; }, "Blocked cleared"));
  EXPECT_EQ(Blocked().reason, reason::kUnblocked);
}

// OwnerReferencesPermissionEnforcement refuses with its own words what is an RBAC gap all the same.
TEST_F(BlockedTest, MissingFinalizersRightIsNamedAsTheGrantItNeeds) {
  std::vector<PolicyRule> rules = ChartRules();
  for (PolicyRule& rule : rules) rule.resources.erase("trainingjobs/finalizers");
  UseRbac(rules);
  StartController();
  CreateJob(testing::MakeJob(2, 1));
  ASSERT_TRUE(WaitFor([&] { return Blocked().status == "True"; }, "condition Blocked"));
  EXPECT_EQ(Blocked().reason, reason::kForbidden) << Blocked().message;
  EXPECT_NE(Blocked().message.find("cannot set blockOwnerDeletion"), std::string::npos) << Blocked().message;
  EXPECT_NE(Blocked().message.find("update on trainingjobs/finalizers"), std::string::npos) << Blocked().message;
}

TEST_F(BlockedTest, GangSchedulerNotInstalledShowsOnTheJob) {
  server_.Unserve("scheduling.volcano.sh", "podgroups");
  ControllerOptions options = testing::FastOptions();
  options.watch_volcano_podgroups = false;
  StartController(options);
  api::TrainingJob job = testing::MakeJob(2, 1);
  job.spec.scheduling.gang = "Volcano";
  CreateJob(job);
  ASSERT_TRUE(WaitFor([&] { return Blocked().status == "True"; }, "condition Blocked"));
  EXPECT_EQ(Blocked().reason, reason::kGangSchedulerMissing);
  EXPECT_NE(Blocked().message.find("is Volcano installed?"), std::string::npos) << Blocked().message;
  EXPECT_NE(Blocked().message.find("spec.scheduling.gang"), std::string::npos) << Blocked().message;
  ASSERT_TRUE(WaitFor([&] { return !Events(reason::kGangSchedulerMissing).empty(); }, "a GangSchedulerMissing event"));
}

TEST_F(BlockedTest, ForeignObjectBlocksUntilItIsDeleted) {
  StartController();
  client_->Create(kube::resources::kServices, "ml",
                  {{"metadata", {{"name", "r50"}}}, {"spec", {{"ports", {{{"port", 80}}}}}}});
  CreateJob(testing::MakeJob(2, 1));
  ASSERT_TRUE(WaitFor([&] { return Blocked().status == "True"; }, "condition Blocked"));
  EXPECT_EQ(Blocked().reason, reason::kResourceNotOwned);
  EXPECT_NE(Blocked().message.find("Service r50 already exists"), std::string::npos) << Blocked().message;
  EXPECT_TRUE(Pods().empty());
  EXPECT_FALSE(Status().start_time) << "activeDeadlineSeconds does not count while no gang runs";

  client_->Delete(kube::resources::kServices, "ml", "r50");  // unlabelled: no informer sees this
  ASSERT_TRUE(WaitForWorkers(2));
  ASSERT_TRUE(WaitFor([&] { return Blocked().status == "False"; }, "Blocked cleared"));
}

// A blocked job is looked at again on a short fixed period, not on the work queue's failure
// back-off (5 ms doubling to 1000 s): nothing reports the obstacle's removal.
TEST_F(BlockedTest, ABlockedJobIsRecheckedOnAFixedPeriodNotABackoff) {
  ControllerOptions options = testing::FastOptions();
  options.planner.blocked_recheck = seconds(10);
  StartController(options, /*workers=*/false);
  client_->Create(kube::resources::kServices, "ml",
                  {{"metadata", {{"name", "r50"}}}, {"spec", {{"ports", {{{"port", 80}}}}}}});
  CreateJob(testing::MakeJob(2, 1));
  const auto pass = [&](int n) {
    kube::ReconcileResult result;
    EXPECT_NO_THROW(result = controller_->Reconcile("ml/r50")) << "pass " << n << ": a thrown pass backs off";
    return result;
  };
  // Until the job reaches the cache and the first refusal is in its status.
  for (int n = 0; Blocked().status != "True"; ++n) {
    ASSERT_LT(n, 1000) << "no Blocked condition";
    pass(n);
    if (::testing::Test::HasFailure()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int n = 0; n < 5; ++n) {
    const kube::ReconcileResult result = pass(n);
    EXPECT_GT(result.requeue_after, kube::Duration::zero()) << "pass " << n;
    EXPECT_LE(result.requeue_after, seconds(10)) << "pass " << n;
  }
  EXPECT_EQ(Blocked().reason, reason::kResourceNotOwned);
}

}  // namespace
}  // namespace kubecnn::controller

// The controller against the real kube-apiserver (tests/support/control_plane): refusals by Pod
// Security admission and by RBAC land on the job as different conditions and Events, each naming
// the fix that applies; the per-job NetworkPolicies are accepted as built (there is no CNI here, so
// whether they are enforced is not tested); the API client reaches a server at an IPv6 address.
// Label `controlplane`; skips without $KUBEBUILDER_ASSETS (fails under CI).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "operator/api/defaults.h"
#include "operator/api/training_job.h"
#include "operator/controller/conditions.h"
#include "operator/controller/controller.h"
#include "operator/controller/names.h"
#include "operator/controller/network_policy.h"
#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "tests/operator/controller/job_fixtures.h"
#include "tests/support/control_plane.h"
#include "tests/support/eventually.h"

namespace kubecnn::controller {
namespace {

using ::kubecnn::testing::ControlPlane;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

using ::kubecnn::testing::Eventually;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class RealApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_WITHOUT_CONTROL_PLANE();
    plane_ = &ControlPlane::Shared();
    const auto crd = plane_->Kubectl("apply -f " + std::string(KUBECNN_SOURCE_DIR) +
                                     "/charts/kubecnn/crds/kubecnn.io_trainingjobs.yaml");
    ASSERT_EQ(crd.exit_code, 0) << crd.output;
    const auto established =
        plane_->Kubectl("wait --for=condition=Established --timeout=60s crd/trainingjobs.kubecnn.io");
    ASSERT_EQ(established.exit_code, 0) << established.output;
    admin_ = std::make_unique<kube::Client>(kube::LoadRestConfig(plane_->admin_kubeconfig()));
  }
  void TearDown() override {
    controller_.reset();
    operator_client_.reset();
  }

  // A controller for namespace `ns` acting with `kubeconfig`'s credentials.
  void StartController(const std::string& ns, const std::string& kubeconfig, NetworkPolicyConfig policies = {}) {
    operator_client_ = std::make_unique<kube::Client>(kube::LoadRestConfig(kubeconfig));
    ControllerOptions o;
    o.planner.network_policy = std::move(policies);
    o.ns = ns;
    o.workers = 2;
    o.planner.restart_backoff = seconds(0);
    o.planner.admission_backoff = seconds(0);
    o.planner.blocked_recheck = seconds(1);
    o.informer.reflector.min_watch_timeout = seconds(5);
    controller_ = std::make_unique<Controller>(*operator_client_, o, nullptr, registry_);
    controller_->StartInformers();
    ASSERT_TRUE(controller_->WaitForSync(seconds(30)));
    controller_->StartWorkers();
  }

  json CreateJob(const std::string& ns, json pod_template = json(), int64_t slots_per_worker = 1) {
    json object = api::ToJson(testing::MakeJob(2, slots_per_worker));
    object.erase("status");
    object["metadata"].erase("uid");
    object["metadata"].erase("generation");
    object["metadata"].erase("resourceVersion");
    object["metadata"]["namespace"] = ns;
    if (!pod_template.is_null()) object["spec"]["podTemplate"] = pod_template;
    return admin_->Create(kube::resources::kTrainingJobs, ns, object);
  }

  // Condition Blocked of job r50 in `ns`, once it is set.
  api::Condition WaitForBlocked(const std::string& ns) {
    api::Condition blocked;
    EXPECT_TRUE(Eventually([&] {
      const json job = admin_->Get(kube::resources::kTrainingJobs, ns, "r50");
      const api::TrainingJobStatus status = api::StatusFromJson(job.value("status", json::object()));
      const api::Condition* c = FindCondition(status, condition::kBlocked);
      if (!c || c->status != "True") return false;
      blocked = *c;
      return true;
    })) << "no condition Blocked on "
        << ns << "/r50";
    return blocked;
  }

  std::string EventsOf(const std::string& ns) {
    return plane_->Kubectl("get events -n " + ns + " --field-selector involvedObject.name=r50 -o json").output;
  }

  ControlPlane* plane_ = nullptr;
  std::unique_ptr<kube::Client> admin_;
  prometheus::Registry registry_;
  std::unique_ptr<kube::Client> operator_client_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(RealApiServerTest, PodSecurityRefusalIsAdmissionNotRbacAndNamesTheTemplate) {
  plane_->CreateNamespace("psa-ml", {{"pod-security.kubernetes.io/enforce", "restricted"}});
  StartController("psa-ml", plane_->admin_kubeconfig());  // every right: RBAC cannot be the cause
  CreateJob("psa-ml", {{"spec", {{"securityContext", {{"runAsNonRoot", false}}}}}});
  const api::Condition blocked = WaitForBlocked("psa-ml");
  std::cout << "Blocked: " << blocked.reason << ": " << blocked.message << "\n";
  EXPECT_EQ(blocked.reason, reason::kAdmissionRefused);
  EXPECT_TRUE(Contains(blocked.message, "violates PodSecurity \"restricted:latest\"")) << blocked.message;
  EXPECT_TRUE(Contains(blocked.message, "Pod Security admission, not by RBAC")) << blocked.message;
  EXPECT_TRUE(Contains(blocked.message, "spec.podTemplate")) << blocked.message;
  EXPECT_FALSE(Contains(blocked.message, "clusterrole.yaml")) << "a grant would not help: " << blocked.message;
  std::string events;
  EXPECT_TRUE(Eventually([&] { return Contains(events = EventsOf("psa-ml"), "\"AdmissionRefused\""); })) << events;
}

TEST_F(RealApiServerTest, RbacRefusalNamesTheClusterRoleToGrant) {
  plane_->CreateNamespace("rbac-ml");
  // The operator's rights without creating pods.
  const std::string role = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kubecnn-test-no-pods}
rules:
- apiGroups: [kubecnn.io]
  resources: [trainingjobs, trainingjobs/status, trainingjobs/finalizers]
  verbs: [get, list, watch, update, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, delete]
- apiGroups: [""]
  resources: [services, configmaps, secrets]
  verbs: [get, list, watch, create, delete]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubecnn-test-no-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubecnn-test-no-pods}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kubecnn-test-no-pods}
)";
  const auto applied = plane_->Kubectl("apply -f -", role);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // The API server's authorizer caches decisions briefly: the binding is in force once kubectl says so.
  ASSERT_TRUE(Eventually(
      [&] { return plane_->Kubectl("auth can-i list pods -n rbac-ml --as=kubecnn-test-no-pods").output == "yes\n"; }));
  StartController("rbac-ml", plane_->KubeconfigFor("kubecnn-test-no-pods"));
  CreateJob("rbac-ml");
  const api::Condition blocked = WaitForBlocked("rbac-ml");
  std::cout << "Blocked: " << blocked.reason << ": " << blocked.message << "\n";
  EXPECT_EQ(blocked.reason, reason::kForbidden);
  EXPECT_TRUE(Contains(blocked.message, "User \"kubecnn-test-no-pods\" cannot create resource \"pods\""))
      << blocked.message;
  EXPECT_TRUE(Contains(blocked.message, "charts/kubecnn/templates/clusterrole.yaml")) << blocked.message;
  std::string events;
  EXPECT_TRUE(Eventually([&] { return Contains(events = EventsOf("rbac-ml"), "\"Forbidden\""); })) << events;
}

TEST_F(RealApiServerTest, NetworkPoliciesAreAcceptedAsBuiltOwnedByTheJobBeforeThePods) {
  plane_->CreateNamespace("np-ml");
  NetworkPolicyConfig policies;
  policies.enabled = true;
  policies.operator_from = json::parse(R"([{
      "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kubecnn-system"}},
      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "kubecnn-operator"}}}])");
  policies.metrics_from = json::parse(R"([
      {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                                   "values": ["monitoring"]}]}},
      {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}])");
  StartController("np-ml", plane_->admin_kubeconfig(), policies);
  const json job_object = CreateJob("np-ml", json(), 4);  // metrics ports 9400-9403: endPort
  const api::TrainingJob job = api::TrainingJobFromJson(job_object);
  const api::DefaultedJob defaulted = api::Defaulted(job);
  // The workers are created only once the controller has seen both policies in place.
  ASSERT_TRUE(Eventually([&] {
    return plane_->Kubectl("get pod -n np-ml r50-worker-0 r50-worker-1 -o name").exit_code == 0;
  })) << plane_->Kubectl("get trainingjob,networkpolicy,pod -n np-ml -o yaml").output;
  for (const json& built : {WorkerNetworkPolicy(defaulted, policies), LauncherNetworkPolicy(defaulted)}) {
    const std::string name = built["metadata"]["name"];
    const json stored = admin_->Get(kNetworkPolicies, "np-ml", name);
    EXPECT_TRUE(IsControlledBy(stored, job.Uid())) << stored.dump();
    EXPECT_EQ(stored["spec"], built["spec"]) << "stored as built, so no pass sees a difference to update";
    if (name == "r50-workers") {
      EXPECT_EQ(stored["spec"]["ingress"][1]["ports"][0].value("endPort", 0), 9403) << "one port per slot";
    }
    EXPECT_EQ(stored["metadata"].value("generation", 0), 1) << name << " was never rewritten";
  }
  const api::Condition* created = nullptr;
  api::TrainingJobStatus status;
  ASSERT_TRUE(Eventually([&] {
    status = api::StatusFromJson(
        admin_->Get(kube::resources::kTrainingJobs, "np-ml", "r50").value("status", json::object()));
    created = FindCondition(status, condition::kCreated);
    return created && created->status == "True";
  }));
  EXPECT_NE(created->message.find("NetworkPolicies in place"), std::string::npos) << created->message;
}

// The chart's rights with networkPolicy.jobs.enabled: its default ClusterRole (manifests/) plus the
// rule clusterrole.yaml then adds, which tests/charts/chart_test.py pins to exactly these verbs.
TEST_F(RealApiServerTest, ChartRbacWithNetworkPoliciesOnRunsAJobUnblocked) {
  plane_->CreateNamespace("np-rbac");
  const auto chart_role =
      plane_->Kubectl("apply -f " + std::string(KUBECNN_SOURCE_DIR) + "/manifests/rbac/cluster_role.yaml");
  ASSERT_EQ(chart_role.exit_code, 0) << chart_role.output;
  const std::string grants = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kubecnn-test-networkpolicies}
rules:
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubecnn-test-networkpolicies}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubecnn-test-networkpolicies}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kubecnn-test-np}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubecnn-test-np-chart}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubecnn-operator}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kubecnn-test-np}
)";
  const auto applied = plane_->Kubectl("apply -f -", grants);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(Eventually([&] {
    return plane_->Kubectl("auth can-i update networkpolicies -n np-rbac --as=kubecnn-test-np").output == "yes\n" &&
           plane_->Kubectl("auth can-i create pods -n np-rbac --as=kubecnn-test-np").output == "yes\n";
  }));
  NetworkPolicyConfig policies;
  policies.enabled = true;
  StartController("np-rbac", plane_->KubeconfigFor("kubecnn-test-np"), policies);
  CreateJob("np-rbac");
  ASSERT_TRUE(Eventually([&] {
    return plane_->Kubectl("get pod -n np-rbac r50-worker-0 r50-worker-1 -o name").exit_code == 0;
  })) << plane_->Kubectl("get trainingjob,networkpolicy,pod -n np-rbac -o yaml").output;
  const json job = admin_->Get(kube::resources::kTrainingJobs, "np-rbac", "r50");
  const api::TrainingJobStatus status = api::StatusFromJson(job.value("status", json::object()));
  const api::Condition* blocked = FindCondition(status, condition::kBlocked);
  EXPECT_TRUE(!blocked || blocked->status != "True") << blocked->message;
  EXPECT_EQ(plane_->Kubectl("get networkpolicy -n np-rbac r50-workers r50-launcher -o name").exit_code, 0);
}

// An API server at an IPv6 address, as on a single-stack IPv6 cluster (KUBERNETES_SERVICE_HOST
// is then an IPv6 literal, which the URL brackets): the client's requests and a watch reach it,
// and TLS checks the address against the certificate. A control plane of its own, on ::1.
TEST(RealApiServerIpv6, TheClientReachesAServerAtABracketedIpv6AddressAndWatchesIt) {
  KUBECNN_SKIP_WITHOUT_CONTROL_PLANE();
  const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 loopback{};
  loopback.sin6_family = AF_INET6;
  loopback.sin6_addr = in6addr_loopback;
  const bool has_ipv6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
  if (probe >= 0) ::close(probe);
  if (!has_ipv6) GTEST_SKIP() << "this machine has no IPv6 loopback (::1)";
  ::kubecnn::testing::ControlPlaneOptions options;
  options.bind_address = "::1";
  ControlPlane plane(options);
  ASSERT_EQ(plane.server_url().rfind("https://[::1]:", 0), 0u) << plane.server_url();
  kube::Client client(kube::LoadRestConfig(plane.admin_kubeconfig()));
  const kube::ObjectList before = client.List(kube::resources::kConfigMaps, "default");

  kube::StopSignal stop;
  std::string watched;
  std::thread watcher([&] {
    kube::WatchOptions o;
    o.resource_version = before.resource_version;
    o.timeout_seconds = 60;
    client.Watch(
        kube::resources::kConfigMaps, "default", o,
        [&](kube::WatchEvent&& e) {
          if (e.type != kube::WatchEventType::kAdded) return true;
          watched = e.object["metadata"].value("name", "");
          return watched != "over-ipv6";
        },
        &stop);
  });
  const json created = client.Create(kube::resources::kConfigMaps, "default",
                                     {{"apiVersion", "v1"},
                                      {"kind", "ConfigMap"},
                                      {"metadata", {{"name", "over-ipv6"}}},
                                      {"data", {{"hostfile", "w-0 slots=1\n"}}}});
  EXPECT_FALSE(created["metadata"].value("uid", "").empty());
  watcher.join();  // the event ends the watch; else the server does, after 60 s
  EXPECT_EQ(watched, "over-ipv6");
  EXPECT_EQ(client.Get(kube::resources::kConfigMaps, "default", "over-ipv6")["data"]["hostfile"], "w-0 slots=1\n");
}

}  // namespace
}  // namespace kubecnn::controller

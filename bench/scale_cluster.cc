// ScaleCluster: control plane, CRD, the chart's RBAC, namespace, hollow node, in that order, each
// step checked.
#include "bench/scale_cluster.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "operator/kube/kubeconfig.h"

namespace kubecnn::bench {
namespace {

using nlohmann::json;

const kube::Resource kNodes{"", "v1", "nodes", "Node", false};

// Ready and no NoSchedule/NoExecute taint (the node lifecycle controller's not-ready taint goes
// once it has seen the Ready condition).
bool Schedulable(const json& node) {
  for (const json& taint : node.value("spec", json::object()).value("taints", json::array())) {
    const std::string effect = taint.value("effect", "");
    if (effect == "NoSchedule" || effect == "NoExecute") return false;
  }
  for (const json& c : node.value("status", json::object()).value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

}  // namespace

json BenchJob(int index) {
  return {{"apiVersion", "kubecnn.io/v1alpha1"},
          {"kind", "TrainingJob"},
          {"metadata", {{"name", "scale-" + std::to_string(index)}, {"namespace", kBenchNamespace}}},
          {"spec",
           {{"image", "kubecnn/trainer:latest"},
            {"workers", 4},
            {"slotsPerWorker", 1},
            {"trainer", {{"model", "tiny"}, {"batchSize", 16}, {"numBatches", 10}}}}}};
}

ScaleCluster::ScaleCluster(const ScaleClusterOptions& options) {
  testing::ControlPlaneOptions plane_options;
  if (!options.scheduler_flags.empty()) plane_options.extra_flags["kube-scheduler"] = options.scheduler_flags;
  plane_ = std::make_unique<testing::ControlPlane>(plane_options);
  const std::string crds = options.source_dir + "/charts/kubecnn/crds/";
  const testing::CommandOutcome applied = plane_->Kubectl("apply -f " + crds);
  if (applied.exit_code != 0) throw std::runtime_error("kubectl apply -f " + crds + " failed:\n" + applied.output);
  const testing::CommandOutcome established =
      plane_->Kubectl("wait --for condition=established --timeout=60s crd/trainingjobs.kubecnn.io");
  if (established.exit_code != 0) {
    throw std::runtime_error("the TrainingJob CRD was not established in 60 s:\n" + established.output);
  }
  const std::string rbac = options.source_dir + "/manifests/rbac/";
  const testing::CommandOutcome granted = plane_->Kubectl("apply -f " + rbac);
  if (granted.exit_code != 0) throw std::runtime_error("kubectl apply -f " + rbac + " failed:\n" + granted.output);
  const testing::CommandOutcome token =
      plane_->Kubectl("create token kubecnn-operator -n kubecnn-system --duration=24h");
  if (token.exit_code != 0 || token.output.empty()) {
    throw std::runtime_error("kubectl create token kubecnn-operator -n kubecnn-system failed:\n" + token.output);
  }
  std::string bearer = token.output;  // the token is the last line (kubectl may warn before it)
  while (!bearer.empty() && (bearer.back() == '\n' || bearer.back() == '\r')) bearer.pop_back();
  bearer = bearer.substr(bearer.rfind('\n') == std::string::npos ? 0 : bearer.rfind('\n') + 1);
  operator_kubeconfig_ = plane_->KubeconfigForToken(bearer, "kubecnn-operator");
  plane_->CreateNamespace(kBenchNamespace, {{"pod-security.kubernetes.io/enforce", "restricted"}});

  const std::string node_user = "system:node:" + options.node.name;
  kube::RestConfig node_config = kube::LoadRestConfig(plane_->KubeconfigFor(node_user, {"system:nodes"}), "");
  node_config.qps = 0;  // a real kubelet's 50 qps would make the node the bottleneck
  node_config.user_agent = "kubecnn-hollow-node";
  node_client_ = std::make_unique<kube::Client>(node_config);
  node_ = std::make_unique<HollowNode>(*node_client_, options.node);
  node_->Start();
  WaitUntilNodeSchedulable(options.node.name);
}

ScaleCluster::~ScaleCluster() {
  node_.reset();  // before the API server goes
  node_client_.reset();
  plane_.reset();
}

std::unique_ptr<kube::Client> ScaleCluster::AdminClient() const {
  kube::RestConfig config = kube::LoadRestConfig(plane_->admin_kubeconfig(), "");
  config.qps = 0;
  config.user_agent = "kubecnn-scale-bench";
  return std::make_unique<kube::Client>(config);
}

std::unique_ptr<kube::Client> ScaleCluster::OperatorClient() const {
  kube::RestConfig config = kube::LoadRestConfig(operator_kubeconfig_, "");
  config.qps = 0;
  config.user_agent = "kubecnn-scale-bench";
  return std::make_unique<kube::Client>(config);
}

void ScaleCluster::WaitUntilNodeSchedulable(const std::string& node_name) {
  const std::unique_ptr<kube::Client> admin = AdminClient();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json node;
  while (std::chrono::steady_clock::now() < deadline) {
    node = admin->Get(kNodes, "", node_name);
    if (Schedulable(node)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw std::runtime_error("hollow node " + node_name + " is not schedulable after 60 s (Ready, no taint): " +
                           node.value("spec", json::object()).dump() + " " +
                           node.value("status", json::object()).value("conditions", json::array()).dump());
}

}  // namespace kubecnn::bench

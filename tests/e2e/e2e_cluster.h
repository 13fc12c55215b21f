// E2eCluster: one test's whole Kubernetes on this machine, as users run it — a real control plane
// (etcd, kube-apiserver with Node,RBAC authorization and PodSecurity/OwnerReferences admission,
// kube-controller-manager, kube-scheduler from $KUBEBUILDER_ASSETS), the node agent as its kubelet
// on a private pod network, and kubecnn installed from charts/kubecnn with Helm's engine: the
// operator runs as the chart's Deployment pod from the operator image's root filesystem of this
// build, uid 65532, read-only root, in-cluster configuration and only the chart's RBAC. Jobs go
// in with `kubectl apply` into a namespace that enforces Pod Security "restricted". Trainer pods run
// on the host's root with the built kubecnn-trainer standing in for the trainer image, or, with
// KUBECNN_E2E_TRAINER_ROOTFS (scripts/test-images.sh), on the trainer image's root itself.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "tests/e2e/node_agent.h"
#include "tests/e2e/pod_network.h"
#include "tests/support/control_plane.h"
#include "tests/support/process.h"
#include "tests/support/s3_server.h"
#include "tests/support/test_files.h"

namespace kubecnn::e2e {

inline constexpr const char* kTrainerImage = "kubecnn/trainer:e2e";
inline constexpr const char* kNamespace = "ml";
inline constexpr const char* kDataClaim = "fmnist-shards";
inline constexpr const char* kCheckpointClaim = "checkpoints";
inline constexpr const char* kOperatorNamespace = "kubecnn-system";
inline constexpr const char* kRelease = "kubecnn";

// "" when this process can run pods (root, in its private node: see e2e_main.cc), else why not.
const std::string& NodeUnavailableReason();

// "" when the e2e node can run the operator's pods: NodeUnavailableReason() and the machine's sshd,
// mpirun and ssh, which the pods run; else what is missing.
std::string MissingForPods();

// Skips the test, or fails it under CI as KUBECNN_SKIP_IF does, unless the node can run pods and
// $KUBEBUILDER_ASSETS holds the control plane's binaries.
#define KUBECNN_REQUIRE_E2E_NODE()                                                         \
  do {                                                                                     \
    const std::string why_missing = ::kubecnn::e2e::MissingForPods();                      \
    KUBECNN_SKIP_IF(!why_missing.empty(), "the e2e node cannot run pods: " + why_missing); \
    KUBECNN_SKIP_WITHOUT_CONTROL_PLANE();                                                  \
  } while (0)

struct E2eClusterOptions {
  int operator_replicas = 1;  // the chart's replicaCount (two: a leader and a standby)
  int64_t node_gpus = 8;      // the node's nvidia.com/gpu capacity
};

class E2eCluster {
 public:
  // `data_dir`: the TFRecord shards behind the kDataClaim volume. Throws when the control plane,
  // the node or the Helm release cannot be brought up, with what each said.
  explicit E2eCluster(const std::string& data_dir, E2eClusterOptions options = {});
  ~E2eCluster();

  kube::Client& client() { return *client_; }  // a cluster-admin's
  testing::ControlPlane& control_plane() { return *control_plane_; }
  // kubectl ARGS as the cluster's admin, its output printed in the test log ("$ kubectl ...").
  testing::CommandOutcome Kubectl(const std::string& args, const std::string& input = "");
  NodeAgent& node() { return *node_; }
  const std::string& checkpoint_dir() const { return checkpoint_dir_; }
  // A Ceph object gateway (scripts/ceph-rgw.sh) listening on the pod network's bridge
  // (PodNetwork::kNodeIp), where every pod reaches it as a cluster's pods reach an in-cluster
  // object store. Started on the first call, stopped with the cluster; throws as
  // testing::CephObjectGateway does.
  const testing::CephObjectGateway& ObjectGateway();

  nlohmann::json Apply(const nlohmann::json& training_job);  // kubectl apply -f - (fails the test if refused)
  nlohmann::json Get(const std::string& name);               // kubectl get trainingjob NAME -o json
  // Polls the job (every 100 ms) until `done` holds; every phase seen is appended to `phases`.
  // Fails the test with the job, the operator's log and the pods' logs after `timeout`.
  nlohmann::json WaitFor(const std::string& name, const std::function<bool(const nlohmann::json&)>& done,
                         std::chrono::seconds timeout, std::vector<std::string>* phases = nullptr);
  std::vector<nlohmann::json> Events(const std::string& name);  // kubectl get events --field-selector
  // The operator pods' logs (every replica, every restart), oldest first.
  std::string OperatorLog() const;
  std::string Diagnostics();  // the operator's log and every pod's log, for failure messages

 private:
  // A PersistentVolume of `dir` bound to a claim `name` in the jobs' namespace, as an admin
  // provisions one; the node mounts the directory.
  void CreateClaim(const std::string& name, const std::string& dir);
  void InstallOperator(const E2eClusterOptions& options);

  testing::ScratchDir dir_;
  std::string checkpoint_dir_;
  std::unique_ptr<PodNetwork> network_;
  std::unique_ptr<testing::ControlPlane> control_plane_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<kube::Client> node_client_;
  std::unique_ptr<NodeAgent> node_;
  std::unique_ptr<testing::CephObjectGateway> object_gateway_;
};

// Runs tests/support/helm_release.py ACTION (install, test, uninstall) for the kubecnn release with
// `extra` arguments; its exit code and output.
testing::CommandOutcome HelmRelease(const std::string& kubeconfig, const std::string& action,
                                    const std::string& extra = "");

// A TrainingJob in the style of manifests/examples/fashion-mnist-cpu.yaml, sized for seconds on a
// 2-core machine: `workers` x 1 slot, the tiny model at 32 px, on the kDataClaim shards.
nlohmann::json FashionMnistJob(const std::string& name, int workers, int num_batches);

// Writes Fashion-MNIST shards (a few hundred images per split) with the real make-shards.
void MakeShards(const std::string& output_dir);

// `kubectl get trainingjob -o yaml` of a job, for the log.
std::string AsYaml(const nlohmann::json& object);

// Every pod of that name the cluster's node has run (a gang's relaunched pods keep their names), in
// start order.
std::vector<RunningPod> PodsNamed(E2eCluster& cluster, const std::string& name);

}  // namespace kubecnn::e2e

// E2eCluster: one test's whole Kubernetes on this machine — the API-server fixture, the real
// kubecnn-operator process with a kubeconfig as a user would give it, the pod network and the
// node agent — plus what a user would do with kubectl: apply a TrainingJob, get it, list its
// Events, read a pod's log. Pods run on the host's root with the built kubecnn-trainer standing in
// for the trainer image, or, with KUBECNN_E2E_TRAINER_ROOTFS (scripts/test-images.sh), on the
// root filesystem of the trainer image itself.
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
#include "tests/support/fake_apiserver.h"
#include "tests/support/process.h"
#include "tests/support/s3_server.h"
#include "tests/support/test_files.h"

namespace kubecnn::e2e {

inline constexpr const char* kTrainerImage = "kubecnn/trainer:e2e";
inline constexpr const char* kNamespace = "ml";
inline constexpr const char* kDataClaim = "fmnist-shards";
inline constexpr const char* kCheckpointClaim = "checkpoints";

// "" when this process can run pods (root, in its private node: see e2e_main.cc), else why not.
const std::string& NodeUnavailableReason();

class E2eCluster {
 public:
  // `data_dir`: the TFRecord shards behind the kDataClaim volume.
  explicit E2eCluster(const std::string& data_dir);
  ~E2eCluster();

  kube::Client& client() { return *client_; }
  NodeAgent& node() { return *node_; }
  const std::string& checkpoint_dir() const { return checkpoint_dir_; }
  // A Ceph object gateway (scripts/ceph-rgw.sh) listening on the pod network's bridge
  // (PodNetwork::kNodeIp), where every pod reaches it as a cluster's pods reach an in-cluster
  // object store. Started on the first call, stopped with the cluster; throws as
  // testing::CephObjectGateway does.
  const testing::CephObjectGateway& ObjectGateway();

  nlohmann::json Apply(const nlohmann::json& training_job);  // kubectl apply (create)
  nlohmann::json Get(const std::string& name);               // kubectl get trainingjob NAME -o json
  // Polls the job (every 100 ms) until `done` holds; every phase seen is appended to `phases`.
  // Fails the test with the job, the operator's log and the pods' logs after `timeout`.
  nlohmann::json WaitFor(const std::string& name, const std::function<bool(const nlohmann::json&)>& done,
                         std::chrono::seconds timeout, std::vector<std::string>* phases = nullptr);
  std::vector<nlohmann::json> Events(const std::string& name);  // kubectl get events --field-selector
  std::string OperatorLog() const;
  std::string Diagnostics();  // the operator's log and every pod's log, for failure messages

 private:
  testing::ScratchDir dir_;
  testing::FakeApiServer server_;
  std::string checkpoint_dir_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<PodNetwork> network_;
  std::unique_ptr<NodeAgent> node_;
  std::unique_ptr<testing::CephObjectGateway> object_gateway_;
  std::unique_ptr<testing::Process> operator_;
};

// A TrainingJob in the style of manifests/examples/fashion-mnist-cpu.yaml, sized for seconds on a
// 2-core machine: `workers` x 1 slot, the tiny model at 32 px, on the kDataClaim shards.
nlohmann::json FashionMnistJob(const std::string& name, int workers, int num_batches);

// Writes Fashion-MNIST shards (a few hundred images per split) with the real make-shards.
void MakeShards(const std::string& output_dir);

// `kubectl get trainingjob -o yaml` of a job, for the log.
std::string AsYaml(const nlohmann::json& object);

}  // namespace kubecnn::e2e

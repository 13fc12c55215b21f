// ScaleCluster: what each operator_scale_bench run starts from: a fresh real control plane
// (tests/support/control_plane.h) with the TrainingJob CRD and the chart's RBAC applied (the
// operator's ServiceAccount, its ClusterRole and binding: manifests/rbac/), a namespace enforcing
// Pod Security restricted, and a hollow node the scheduler can bind thousands of pods to.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/hollow_node.h"
#include "operator/kube/client.h"
#include "tests/support/control_plane.h"

namespace kubecnn::bench {

inline constexpr const char* kBenchNamespace = "scale";

struct ScaleClusterOptions {
  std::string source_dir;  // the repository: charts/kubecnn/crds/ and manifests/rbac/ are applied from it
  std::vector<std::string> scheduler_flags;  // appended to kube-scheduler's command line
  HollowNodeOptions node;
};

// A TrainingJob of 4 workers x 1 slot of the tiny model on synthetic data (numBatches, no
// dataDir): no claim to bind, checkpoints on the emptyDir the operator defaults to; evaluation off.
nlohmann::json BenchJob(int index);

class ScaleCluster {
 public:
  // Starts it all; throws std::runtime_error saying which step failed (kubectl's output, the node).
  explicit ScaleCluster(const ScaleClusterOptions& options);
  ~ScaleCluster();
  ScaleCluster(const ScaleCluster&) = delete;
  ScaleCluster& operator=(const ScaleCluster&) = delete;

  testing::ControlPlane& plane() { return *plane_; }
  HollowNode& node() { return *node_; }
  // A new cluster-admin client with no client-side rate limit (one per thread that wants its own
  // connection).
  std::unique_ptr<kube::Client> AdminClient() const;
  // A kubeconfig that presents a token of the operator's ServiceAccount, as the chart's Deployment
  // does (bearer token, the chart's ClusterRole and nothing more), and a client with it (no limit).
  const std::string& operator_kubeconfig() const { return operator_kubeconfig_; }
  std::unique_ptr<kube::Client> OperatorClient() const;

 private:
  void WaitUntilNodeSchedulable(const std::string& node_name);

  std::unique_ptr<testing::ControlPlane> plane_;
  std::string operator_kubeconfig_;
  std::unique_ptr<kube::Client> node_client_;
  std::unique_ptr<HollowNode> node_;
};

}  // namespace kubecnn::bench

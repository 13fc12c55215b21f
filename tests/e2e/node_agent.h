// NodeAgent: a kubelet of a real control plane for the end-to-end suite. It registers its Node
// (capacity: cpu, memory, pods and an `nvidia.com/gpu` count) and renews the node's Lease, as
// `system:node:<name>` (the Node authorizer and NodeRestriction judge what it may do), and runs
// the pods the scheduler bound to it on this machine as real processes: the container's command and
// args unchanged, in a sandbox of its own (tests/e2e/pod_sandbox_main.cc) with its own address on
// the pod network, its volumes (Secret and ConfigMap keys as files, projected ServiceAccount tokens
// from TokenRequest, PersistentVolumeClaims, hostPath, emptyDir), its env and security context, and
// /etc/hosts entries for every pod behind a headless Service. It probes readiness (tcpSocket) and
// writes pod status back through pods/status as a kubelet does: phase, podIP, conditions,
// containerStatuses with exit code and termination message. A deleted pod gets SIGTERM, SIGKILL
// after its grace period, and the final delete once it has stopped. Given a serving certificate,
// it serves the kubelet's container log API (kubelet_log_server.h) that kube-apiserver's pods/log
// reaches, on the node's InternalIP at the port its Node advertises.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/informer.h"
#include "tests/e2e/kubelet_log_server.h"
#include "tests/e2e/pod_network.h"
#include "tests/support/kubelet_node.h"

namespace kubecnn::e2e {

// What an image name stands for on this node: a root filesystem for the pods' overlay, files the
// image would hold (bound in read-only), and whether the node must supply the image's uid-1000 user
// (a host root has none of its own).
struct NodeImage {
  std::string root = "/";
  std::map<std::string, std::string> files;  // path in the pod -> path on this machine
  bool add_user = true;
  std::vector<std::string> entrypoint;  // the image's ENTRYPOINT, for containers without a command
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
};

struct NodeAgentOptions {
  std::string work_dir;                       // pod directories (overlay layers, volumes, logs)
  std::string sandbox_binary;                 // kubecnn-e2e-pod-sandbox
  std::map<std::string, NodeImage> images;    // by the pod's image name; others never start
  std::map<std::string, std::string> claims;  // PersistentVolumeClaim name -> directory
  std::string node_name = "e2e-node";
  std::string cluster_domain = "cluster.local";
  double min_probe_period_seconds = 0.0;  // >0 probes at most this often (keeps tests quick)
  // What the Node advertises to the scheduler.
  std::string cpu = "16";
  std::string memory = "64Gi";
  int64_t gpus = 0;  // nvidia.com/gpu
  // Where pods reach the API server (KUBERNETES_SERVICE_HOST/PORT); not set when empty.
  std::string api_host;
  int api_port = 0;
  // The kubelet's serving certificate (for PodNetwork::kNodeIp) and the CA of the clients it lets
  // read logs (kube-apiserver's --kubelet-client-certificate); no log API when empty.
  std::string serving_cert_pem, serving_key_pem;
  std::string client_ca_pem;
};

// A pod as the node runs it, for tests that reach into it.
struct RunningPod {
  std::string ns, name, uid;
  std::string ip;
  std::string netns_path;
  std::string dir;
  std::string log;  // the container's stdout and stderr
  bool finished = false;
  int exit_code = -1;
};

class NodeAgent {
 public:
  NodeAgent(kube::Client& client, PodNetwork& network, NodeAgentOptions options);
  ~NodeAgent();  // kills every pod it runs
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // Registers the Node (Ready), starts renewing its Lease and runs the pods bound to it.
  void Start();
  // Changes the Node's nvidia.com/gpu capacity and allocatable (a GPU node joining or leaving).
  void SetGpus(int64_t gpus);
  // Every pod this node has run (finished ones included), in start order.
  std::vector<RunningPod> Pods() const;
  // Process ids whose network namespace is the pod's, i.e. the pod's processes.
  std::vector<int> ProcessesOf(const RunningPod& pod) const;
  // What the node did, one timestamped line per step (admitted, running, ready, exited, ...).
  std::string LogText() const;

 private:
  struct PodRun;
  void OnPod(const nlohmann::json& pod);
  // The pod is terminating (graceful: SIGTERM now, SIGKILL after its grace period) or gone.
  void OnDelete(const nlohmann::json& pod, bool gone);
  void SetReady(PodRun& run, bool ready);
  testing::NodeRegistration Registration();
  std::string ServiceAccountToken(const nlohmann::json& pod, const nlohmann::json& token_source);
  void Run(std::shared_ptr<PodRun> run);
  void PublishHosts();
  void Log(const std::string& line);
  // A container's current or previous run, as the kubelet's log API looks it up.
  LogLookup FindLog(const ContainerLogRequest& request) const;

  kube::Client& client_;
  PodNetwork& network_;
  NodeAgentOptions options_;
  std::unique_ptr<kube::Informer> informer_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<PodRun>> runs_;  // by uid
  std::vector<std::string> order_;                       // uids in start order
  bool stopping_ = false;
  std::mutex publish_mu_;
  mutable std::mutex log_mu_;
  std::mutex node_mu_;
  std::condition_variable node_cv_;  // heartbeat: the next renewal, or stop
  bool heartbeat_stop_ = false;
  std::thread heartbeat_;
  std::unique_ptr<KubeletLogServer> log_server_;
};

}  // namespace kubecnn::e2e

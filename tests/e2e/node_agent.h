// NodeAgent: a kubelet (and scheduler) for the end-to-end suite. It watches the API server's pods
// and runs each one on this machine as real processes: the container's command and args unchanged,
// in a sandbox of its own (tests/e2e/pod_sandbox_main.cc) with its own address on the pod network,
// its volumes (Secret and ConfigMap keys as files, PersistentVolumeClaims, hostPath, emptyDir), its
// env and security context, and /etc/hosts entries for every pod behind a headless Service. It
// probes readiness (tcpSocket) and writes pod status back as a kubelet does: phase, podIP,
// conditions, containerStatuses with exit code and termination message. Deleting a pod kills it.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/informer.h"
#include "tests/e2e/pod_network.h"

namespace kubecnn::e2e {

// What an image name stands for on this node: a root filesystem for the pods' overlay, files the
// image would hold (bound in read-only), and whether the node must supply the image's uid-1000 user
// (a host root has none of its own).
struct NodeImage {
  std::string root = "/";
  std::map<std::string, std::string> files;  // path in the pod -> path on this machine
  bool add_user = true;
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

  void Start();
  // Every pod this node has run (finished ones included), in start order.
  std::vector<RunningPod> Pods() const;
  // Process ids whose network namespace is the pod's, i.e. the pod's processes.
  std::vector<int> ProcessesOf(const RunningPod& pod) const;
  // What the node did, one timestamped line per step (admitted, running, ready, exited, ...).
  std::string LogText() const;

 private:
  struct PodRun;
  void OnPod(const nlohmann::json& pod);
  void OnDelete(const nlohmann::json& pod);
  void Run(std::shared_ptr<PodRun> run);
  void PublishHosts();
  void Log(const std::string& line);

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
};

}  // namespace kubecnn::e2e

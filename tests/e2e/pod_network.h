// The test node's pod network: the e2e test process runs in its own network and mount namespaces
// (EnterPrivateNode), where a bridge joins one network namespace per pod through a veth pair. Every
// pod has its own address, so two pods can both listen on 0.0.0.0:2222 (sshd) and 0.0.0.0:9400
// (metrics) as they do on a cluster, and no packet can reach the machine's own interfaces.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace kubecnn::e2e {

// Moves the calling process (single-threaded, root) into a new network and mount namespace with
// loopback up and a private /run (for `ip netns`). Returns "" or why it could not.
std::string EnterPrivateNode();

// Runs argv (no shell) and returns its combined output; throws std::runtime_error with the command
// and its output when it exits non-zero.
std::string RunCommand(const std::vector<std::string>& argv);

struct PodEndpoint {
  std::string ip;          // 10.244.0.N
  std::string netns_path;  // /run/netns/kubecnn-pod-N
  std::string host_veth;
};

class PodNetwork {
 public:
  static constexpr const char* kNodeIp = "10.244.0.1";  // the bridge: the operator and probes use it
  PodNetwork();                                         // creates the bridge; throws when the network cannot be set up
  ~PodNetwork();                                        // removes the pods' namespaces and the bridge
  PodNetwork(const PodNetwork&) = delete;
  PodNetwork& operator=(const PodNetwork&) = delete;

  PodEndpoint Add();  // a new namespace with the next free address
  void Remove(const PodEndpoint& endpoint);

 private:
  std::mutex mu_;
  int next_ = 2;
  std::vector<PodEndpoint> endpoints_;
};

}  // namespace kubecnn::e2e

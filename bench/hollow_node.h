// HollowNode: a kubelet that runs nothing (kubemark's hollow node), for benchmarks on the real
// control plane. It registers its Node with room for thousands of pods, renews its Lease, and
// reports the pods the scheduler binds to it as if their containers started at once: workers
// Running and Ready, launchers Running and, a moment later, Succeeded with exit code 0; a deleted
// pod is confirmed gone at once. Status goes through pods/status as a kubelet writes it, with the
// node's own credentials (system:node:<name>, so the Node authorizer and NodeRestriction apply).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/informer.h"

namespace kubecnn::bench {

struct HollowNodeOptions {
  std::string name = "hollow-0";
  std::string node_ip = "10.243.0.1";
  // Pod i gets 10.244.0.0 + i: not an address of this machine, so nothing answers there.
  int status_writers = 8;  // threads writing pod status (a real kubelet's QPS would be the bottleneck)
  std::chrono::milliseconds launcher_runs_for{1000};  // Running, then Succeeded
  // Capacity and allocatable: no pod is refused for room.
  std::string pods = "10000";
  std::string cpu = "10000";
  std::string memory = "64Ti";
};

// What the node has written, for the benchmark's output.
struct HollowNodeCounts {
  int64_t started = 0;    // pods reported Running
  int64_t succeeded = 0;  // launchers reported Succeeded
  int64_t deleted = 0;    // deletions confirmed
  int64_t failed_writes = 0;
};

// The status a kubelet writes for `pod` once its containers run (ready: the Ready and
// ContainersReady conditions), and once they exited with code 0. `now` is RFC 3339.
nlohmann::json RunningStatus(const nlohmann::json& pod, const std::string& pod_ip, const std::string& node_ip,
                             const std::string& now, bool ready);
nlohmann::json SucceededStatus(const nlohmann::json& pod, const std::string& started_at, const std::string& now);
// 10.244.0.0 + index as a dotted quad.
std::string PodIp(int64_t index);

class HollowNode {
 public:
  // `client` authenticates as system:node:<options.name>; it must outlive the node.
  HollowNode(kube::Client& client, HollowNodeOptions options);
  ~HollowNode();  // stops the informer, the lease renewal and the writers
  HollowNode(const HollowNode&) = delete;
  HollowNode& operator=(const HollowNode&) = delete;

  // Registers the Node (create, then its status: capacity, allocatable, Ready), creates its Lease
  // and starts renewing it every 10 s, and starts watching the pods bound to it. Throws when the
  // API server refuses the Node or the pod watch does not sync within 30 s.
  void Start();
  HollowNodeCounts counts() const;

 private:
  enum class Work { kRun, kSucceed, kConfirmDeleted };
  struct Task {
    Work work;
    nlohmann::json pod;
    std::string started_at;  // kSucceed: when it was reported Running
  };

  void OnPod(const nlohmann::json& pod);
  void Schedule(std::chrono::steady_clock::time_point due, Task task);
  void WriterLoop();
  void Do(const Task& task);
  void PatchStatus(const nlohmann::json& pod, const nlohmann::json& status);

  kube::Client& client_;
  HollowNodeOptions options_;
  std::unique_ptr<kube::Informer> informer_;
  std::thread lease_thread_;
  std::vector<std::thread> writers_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::multimap<std::chrono::steady_clock::time_point, Task> due_;  // guarded by mu_
  std::set<std::string> started_uids_;                              // guarded by mu_
  std::set<std::string> deleting_uids_;                             // guarded by mu_
  int64_t next_ip_ = 1;                                             // guarded by mu_

  std::atomic<int64_t> started_{0}, succeeded_{0}, deleted_{0}, failed_writes_{0};
};

}  // namespace kubecnn::bench

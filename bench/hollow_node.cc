// HollowNode: registration and Lease as tests/e2e/node_agent.cc does them; pod status from a
// pool of writer threads fed by the pod informer, with launchers' exits scheduled by due time.
#include "bench/hollow_node.h"

#include <cstdio>

#include "operator/controller/names.h"
#include "operator/kube/api_error.h"
#include "operator/kube/clock.h"
#include "operator/kube/resource.h"
#include "tests/support/kubelet_node.h"

namespace kubecnn::bench {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

constexpr int64_t kMaxLoggedFailures = 20;

json Condition(const std::string& type, bool status, const std::string& since, const std::string& reason = "") {
  json c = {
      {"type", type}, {"status", status ? "True" : "False"}, {"lastProbeTime", nullptr}, {"lastTransitionTime", since}};
  if (!reason.empty()) c["reason"] = reason;
  return c;
}

json ContainerBase(const json& pod, const json& container) {
  const std::string uid = pod["metadata"].value("uid", "");
  const std::string image = container.value("image", "");
  return {{"name", container.value("name", "")},
          {"image", image},
          {"imageID", "hollow://" + image},
          {"containerID", "hollow://" + uid.substr(0, 8) + "-" + container.value("name", "")},
          {"restartCount", 0}};
}

}  // namespace

std::string PodIp(int64_t index) {
  return "10." + std::to_string(244 + (index >> 16)) + "." + std::to_string((index >> 8) & 255) + "." +
         std::to_string(index & 255);
}

json RunningStatus(const json& pod, const std::string& pod_ip, const std::string& node_ip, const std::string& now,
                   bool ready) {
  json containers = json::array();
  for (const json& container : pod["spec"].value("containers", json::array())) {
    json cs = ContainerBase(pod, container);
    cs["ready"] = ready;
    cs["started"] = true;
    cs["state"] = {{"running", {{"startedAt", now}}}};
    containers.push_back(std::move(cs));
  }
  return {{"phase", "Running"},
          {"hostIP", node_ip},
          {"podIP", pod_ip},
          {"podIPs", json::array({{{"ip", pod_ip}}})},
          {"startTime", now},
          {"conditions", json::array({Condition("Initialized", true, now), Condition("Ready", ready, now),
                                      Condition("ContainersReady", ready, now), Condition("PodScheduled", true, now)})},
          {"containerStatuses", std::move(containers)}};
}

json SucceededStatus(const json& pod, const std::string& started_at, const std::string& now) {
  json containers = json::array();
  for (const json& container : pod["spec"].value("containers", json::array())) {
    json cs = ContainerBase(pod, container);
    cs["ready"] = false;
    cs["started"] = false;
    cs["state"] = {{"terminated",
                    {{"exitCode", 0},
                     {"reason", "Completed"},
                     {"startedAt", started_at},
                     {"finishedAt", now},
                     {"containerID", cs["containerID"]}}}};
    containers.push_back(std::move(cs));
  }
  return {{"phase", "Succeeded"},
          {"conditions",
           json::array({Condition("Initialized", true, started_at), Condition("Ready", false, now, "PodCompleted"),
                        Condition("ContainersReady", false, now, "PodCompleted"),
                        Condition("PodScheduled", true, started_at)})},
          {"containerStatuses", std::move(containers)}};
}

HollowNode::HollowNode(kube::Client& client, HollowNodeOptions options)
    : client_(client), options_(std::move(options)) {}

HollowNode::~HollowNode() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (informer_) informer_->Stop();
  if (lease_thread_.joinable()) lease_thread_.join();
  for (std::thread& writer : writers_) writer.join();
}

void HollowNode::Start() {
  const testing::NodeRegistration node{
      options_.name,
      options_.node_ip,
      {{"cpu", options_.cpu}, {"memory", options_.memory}, {"pods", options_.pods}, {"ephemeral-storage", "100Ti"}},
      "hollow://1",
      {{"kubecnn.io/hollow", "true"}}};
  testing::RegisterNode(client_, node);
  testing::RenewNodeLease(client_, options_.name);
  lease_thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, testing::kNodeLeaseRenewal, [this] { return stopping_; })) {
      lock.unlock();
      try {
        testing::RenewNodeLease(client_, options_.name);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hollow node %s: renewing its Lease: %s\n", options_.name.c_str(), e.what());
      }
      lock.lock();
    }
  });
  for (int i = 0; i < options_.status_writers; ++i) writers_.emplace_back([this] { WriterLoop(); });
  kube::InformerOptions informer;
  informer.reflector.field_selector = "spec.nodeName=" + options_.name;  // what the scheduler bound here
  informer_ = std::make_unique<kube::Informer>(client_, kube::resources::kPods, informer);
  informer_->AddHandlers({[this](const json& pod) { OnPod(pod); }, [this](const json&, const json& pod) { OnPod(pod); },
                          [this](const json& pod) {
                            const std::string uid = pod["metadata"].value("uid", "");
                            std::lock_guard<std::mutex> lock(mu_);
                            started_uids_.erase(uid);
                            deleting_uids_.erase(uid);
                          }});
  informer_->Start();
  if (!informer_->WaitForSync(std::chrono::seconds(30))) {
    throw std::runtime_error("hollow node " + options_.name + ": its watch of pods with spec.nodeName=" +
                             options_.name + " did not sync in 30 s (is the API server overloaded?)");
  }
}

HollowNodeCounts HollowNode::counts() const {
  return {started_.load(), succeeded_.load(), deleted_.load(), failed_writes_.load()};
}

void HollowNode::OnPod(const json& pod) {
  const json& meta = pod["metadata"];
  const std::string uid = meta.value("uid", "");
  const auto now = steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  if (meta.contains("deletionTimestamp")) {
    if (deleting_uids_.insert(uid).second) due_.emplace(now, Task{Work::kConfirmDeleted, pod, ""});
  } else {
    const std::string phase = pod.value("status", json::object()).value("phase", "Pending");
    if (phase == "Succeeded" || phase == "Failed" || !started_uids_.insert(uid).second) return;
    due_.emplace(now, Task{Work::kRun, pod, ""});
  }
  cv_.notify_one();
}

void HollowNode::Schedule(steady_clock::time_point due, Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    due_.emplace(due, std::move(task));
  }
  cv_.notify_one();
}

void HollowNode::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stopping_) return;
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto first = due_.begin();
    if (first->first > steady_clock::now()) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    Task task = std::move(first->second);
    due_.erase(first);
    lock.unlock();
    try {
      Do(task);
    } catch (const std::exception& e) {
      if (failed_writes_.fetch_add(1) < kMaxLoggedFailures) {
        std::fprintf(stderr, "hollow node %s: %s: %s\n", options_.name.c_str(),
                     task.pod["metadata"].value("name", "").c_str(), e.what());
      }
    }
    lock.lock();
  }
}

void HollowNode::Do(const Task& task) {
  const json& meta = task.pod["metadata"];
  const std::string now = kube::FormatTime(client_.clock().WallNow());
  switch (task.work) {
    case Work::kRun: {
      int64_t index = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = next_ip_++;
      }
      PatchStatus(task.pod, RunningStatus(task.pod, PodIp(index), options_.node_ip, now, /*ready=*/true));
      ++started_;
      const json labels = meta.value("labels", json::object());
      if (labels.value(controller::kLabelRole, "") == controller::kRoleLauncher) {
        Schedule(steady_clock::now() + options_.launcher_runs_for, Task{Work::kSucceed, task.pod, now});
      }
      break;
    }
    case Work::kSucceed:
      PatchStatus(task.pod, SucceededStatus(task.pod, task.started_at, now));
      ++succeeded_;
      break;
    case Work::kConfirmDeleted: {
      // The kubelet's last word on a deleted pod: its containers have stopped (here: at once).
      kube::DeleteOptions options;
      options.grace_period_seconds = 0;
      options.precondition_uid = meta.value("uid", "");
      try {
        client_.Delete(kube::resources::kPods, meta.value("namespace", ""), meta.value("name", ""), options);
        ++deleted_;
      } catch (const kube::ApiError& e) {
        if (e.code() != 404 && e.code() != 409) throw;
      }
      break;
    }
  }
}

void HollowNode::PatchStatus(const json& pod, const json& status) {
  const json& meta = pod["metadata"];
  try {
    client_.MergePatch(kube::resources::kPods, meta.value("namespace", ""), meta.value("name", ""),
                       {{"status", status}}, /*status=*/true);
  } catch (const kube::ApiError& e) {
    if (e.code() != 404) throw;  // deleted meanwhile
  }
}

}  // namespace kubecnn::bench

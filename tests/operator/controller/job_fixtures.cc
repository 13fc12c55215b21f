// Job and pod-status fixtures.
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller::testing {

using nlohmann::json;

api::TrainingJob MakeJob(int64_t workers, int64_t slots) {
  api::TrainingJob job;
  job.metadata = {{"name", "r50"}, {"namespace", "ml"}, {"uid", "job-uid"}, {"generation", 1}};
  job.spec.image = "kubecnn:1";
  job.spec.workers = workers;
  job.spec.slots_per_worker = slots;
  job.spec.resources = {{"limits", {{"nvidia.com/gpu", slots}}}};
  job.spec.trainer.model = "resnet50";
  job.spec.trainer.batch_size = 256;
  job.spec.trainer.num_epochs = 90;
  job.spec.volumes.data = {{"persistentVolumeClaim", {{"claimName", "imagenet"}}}};
  job.spec.volumes.checkpoints = {{"persistentVolumeClaim", {{"claimName", "ckpt"}}}};
  return job;
}

namespace {
json& Status(json& pod) {
  if (!pod.contains("status")) pod["status"] = json::object();
  return pod["status"];
}
}  // namespace

json Scheduled(json pod, const std::string& node) {
  pod["spec"]["nodeName"] = node;
  Status(pod)["phase"] = "Pending";
  Status(pod)["conditions"] = {{{"type", "PodScheduled"}, {"status", "True"}}};
  return pod;
}

json Unschedulable(json pod, const std::string& message) {
  Status(pod)["phase"] = "Pending";
  Status(pod)["conditions"] = {
      {{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"}, {"message", message}}};
  return pod;
}

json Ready(json pod, const std::string& ip) {
  pod = Scheduled(std::move(pod));
  Status(pod)["phase"] = "Running";
  Status(pod)["podIP"] = ip;
  Status(pod)["conditions"] = {{{"type", "PodScheduled"}, {"status", "True"}}, {{"type", "Ready"}, {"status", "True"}}};
  return pod;
}

json Running(json pod) {
  pod = Scheduled(std::move(pod));
  Status(pod)["phase"] = "Running";
  Status(pod)["podIP"] = "10.0.1.1";
  return pod;
}

json Succeeded(json pod, const std::string& termination_message) {
  pod = Scheduled(std::move(pod));
  Status(pod)["phase"] = "Succeeded";
  json terminated = {{"exitCode", 0}, {"reason", "Completed"}};
  if (!termination_message.empty()) terminated["message"] = termination_message;
  Status(pod)["containerStatuses"] = {
      {{"name", pod["spec"]["containers"][0]["name"]}, {"state", {{"terminated", terminated}}}}};
  return pod;
}

json Failed(json pod, int exit_code, const std::string& reason) {
  pod = Scheduled(std::move(pod));
  Status(pod)["phase"] = "Failed";
  Status(pod)["containerStatuses"] = {{{"name", pod["spec"]["containers"][0]["name"]},
                                       {"state", {{"terminated", {{"exitCode", exit_code}, {"reason", reason}}}}}}};
  return pod;
}

json Evicted(json pod) {
  pod = Scheduled(std::move(pod));
  Status(pod)["phase"] = "Failed";
  Status(pod)["reason"] = "Evicted";
  Status(pod)["message"] = "The node was low on resource: memory.";
  return pod;
}

}  // namespace kubecnn::controller::testing

// Child names, labels and owner references.
#include "operator/controller/names.h"

namespace kubecnn::controller {

std::string ServiceName(const api::JobMeta& job) { return job.Name(); }
std::string ConfigMapName(const api::JobMeta& job) { return job.Name() + "-config"; }
// The uid in the name makes an existing Secret of this name the job's own (the operator may create
// Secrets but not read them, so it cannot look).
std::string SecretName(const api::JobMeta& job) { return job.Name() + "-ssh-" + job.Uid().substr(0, 8); }
std::string PodGroupName(const api::JobMeta& job) { return job.Name(); }
std::string WorkerName(const api::JobMeta& job, int64_t index) {
  return job.Name() + "-worker-" + std::to_string(index);
}
std::string LauncherName(const api::JobMeta& job, const std::string& stage, int64_t attempt) {
  const std::string base = job.Name() + (stage == kStageEvaluate ? "-eval" : "-launcher");
  return attempt == 0 ? base : base + "-" + std::to_string(attempt);
}
std::string NetworkPolicyName(const api::JobMeta& job, const std::string& role) {
  return job.Name() + (role == kRoleWorker ? "-workers" : "-launcher");
}
std::string WorkerHost(const api::JobMeta& job, int64_t index) {
  return WorkerName(job, index) + "." + ServiceName(job) + "." + job.Namespace() + ".svc";
}

nlohmann::json JobLabels(const api::JobMeta& job) {
  return {{"app.kubernetes.io/name", "kubecnn"},
          {"app.kubernetes.io/managed-by", "kubecnn-operator"},
          {kLabelJobName, job.Name()}};
}

nlohmann::json ControllerReference(const api::JobMeta& job) {
  return {{"apiVersion", api::kApiVersion},
          {"kind", api::kKind},
          {"name", job.Name()},
          {"uid", job.Uid()},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

namespace {
const nlohmann::json* ControllerRef(const nlohmann::json& object) {
  if (!object.is_object() || !object.contains("metadata")) return nullptr;
  const nlohmann::json& meta = object["metadata"];
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return nullptr;
  for (const nlohmann::json& ref : meta["ownerReferences"]) {
    if (ref.is_object() && ref.value("controller", false)) return &ref;
  }
  return nullptr;
}
}  // namespace

bool IsControlledBy(const nlohmann::json& object, const std::string& uid) {
  const nlohmann::json* ref = ControllerRef(object);
  return ref && ref->value("uid", "") == uid;
}

std::pair<std::string, std::string> ControllingJob(const nlohmann::json& object) {
  const nlohmann::json* ref = ControllerRef(object);
  if (!ref || ref->value("kind", "") != api::kKind || ref->value("apiVersion", "") != api::kApiVersion) return {};
  return {object["metadata"].value("namespace", ""), ref->value("name", "")};
}

}  // namespace kubecnn::controller

// Worker and launcher pods.
#include "operator/controller/pod_builders.h"

#include "operator/api/defaults.h"
#include "operator/controller/builders.h"
#include "operator/controller/names.h"
#include "operator/controller/s3_env.h"
#include "operator/controller/trainer_args.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;

json Env(const std::string& name, const std::string& value) { return {{"name", name}, {"value", value}}; }

// Pod Security "restricted" (what a hardened namespace enforces): a non-root uid, the runtime's
// default seccomp filter, no privilege escalation and no capabilities. sshd and mpirun run as that
// uid: sshd serves only its own user and needs no privilege for it.
json PodSecurityContext() {
  return {{"runAsUser", kRunAsUser},
          {"runAsGroup", kRunAsUser},
          {"runAsNonRoot", true},
          {"fsGroup", kRunAsUser},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

json ContainerSecurityContext() {
  return {{"allowPrivilegeEscalation", false}, {"capabilities", {{"drop", json::array({"ALL"})}}}};
}

// Volumes every pod of the job has, and where the containers mount them; the environment and CA
// bundle that reach spec.storage.s3.
void AddCommonVolumes(const api::DefaultedJob& job, json& spec, json& container, bool data) {
  spec["volumes"].push_back({{"name", "ssh"}, {"secret", {{"secretName", SecretName(job)}, {"defaultMode", 0440}}}});
  spec["volumes"].push_back({{"name", "config"}, {"configMap", {{"name", ConfigMapName(job)}}}});
  container["volumeMounts"].push_back({{"name", "ssh"}, {"mountPath", kSshDir}, {"readOnly", true}});
  container["volumeMounts"].push_back(
      {{"name", "config"}, {"mountPath", kHostfilePath}, {"subPath", "hostfile"}, {"readOnly", true}});
  container["volumeMounts"].push_back(
      {{"name", "config"}, {"mountPath", kSshdConfigPath}, {"subPath", "sshd_config"}, {"readOnly", true}});
  if (!job.spec.volumes.checkpoints.is_null()) {  // none with an s3:// logDir, unless the user gave one
    json volume = job.spec.volumes.checkpoints;
    volume["name"] = "checkpoints";
    spec["volumes"].push_back(volume);
    container["volumeMounts"].push_back({{"name", "checkpoints"}, {"mountPath", api::kCheckpointMountPath}});
  }
  if (data && !job.spec.volumes.data.is_null()) {
    json volume = job.spec.volumes.data;
    volume["name"] = "data";
    spec["volumes"].push_back(volume);
    container["volumeMounts"].push_back({{"name", "data"}, {"mountPath", api::kDataMountPath}, {"readOnly", true}});
  }
  for (const json& env : S3Env(job.spec)) container["env"].push_back(env);
  AddS3CaBundle(job.spec, spec, container);
}

json PodLabels(const api::DefaultedJob& job, const std::string& role, int64_t attempt) {
  json labels = JobLabels(job);
  labels[kLabelRole] = role;
  labels[kLabelAttempt] = std::to_string(attempt);
  return labels;
}

void MergeObject(json& ours, const json& theirs) {
  if (!theirs.is_object()) return;
  for (const auto& [key, value] : theirs.items()) {
    if (!ours.contains(key)) ours[key] = value;
  }
}

}  // namespace

json WorkerPod(const api::DefaultedJob& job, int64_t index, int64_t attempt) {
  const api::DefaultedSpec& s = job.spec;
  json container = {{"name", kRoleWorker},
                    {"image", s.image},
                    {"imagePullPolicy", s.image_pull_policy},
                    {"command", {"/usr/sbin/sshd", "-D", "-e", "-f", kSshdConfigPath}},
                    {"ports", json::array({{{"name", "ssh"}, {"containerPort", kSshPort}}})},
                    {"env",
                     {Env("KUBECNN_JOB_NAME", job.Name()), Env("KUBECNN_WORKER_INDEX", std::to_string(index)),
                      Env("KUBECNN_LOG_DIR", s.log_dir)}},
                    {"readinessProbe", {{"tcpSocket", {{"port", kSshPort}}}, {"periodSeconds", 2}}},
                    {"securityContext", ContainerSecurityContext()},
                    {"volumeMounts", json::array()}};
  for (int64_t slot = 0; slot < s.slots_per_worker; ++slot) {
    container["ports"].push_back(
        {{"name", "metrics-" + std::to_string(slot)}, {"containerPort", kMetricsBasePort + slot}});
  }
  if (!s.resources.is_null()) container["resources"] = s.resources;
  json spec = {{"hostname", WorkerName(job, index)},
               {"subdomain", ServiceName(job)},
               {"restartPolicy", "Never"},  // a dead rank ends the gang's run; the operator restarts the gang
               {"automountServiceAccountToken", false},  // sshd and the trainer never call the API
               {"securityContext", PodSecurityContext()},
               {"volumes", json::array()}};
  AddCommonVolumes(job, spec, container, /*data=*/true);
  // NCCL and the data loader's workers need more shared memory than the runtime's 64 MiB default.
  spec["volumes"].push_back({{"name", "dshm"}, {"emptyDir", {{"medium", "Memory"}}}});
  container["volumeMounts"].push_back({{"name", "dshm"}, {"mountPath", "/dev/shm"}});
  spec["containers"] = json::array({container});
  json meta = ChildMetadata(job, WorkerName(job, index));
  meta["labels"] = PodLabels(job, kRoleWorker, attempt);
  meta["labels"][kLabelIndex] = std::to_string(index);
  if (s.scheduling.scheduler_name) spec["schedulerName"] = *s.scheduling.scheduler_name;
  if (s.scheduling.priority_class_name) spec["priorityClassName"] = *s.scheduling.priority_class_name;
  if (s.scheduling.gang == api::Gang::kVolcano) {
    meta["annotations"] = {{"scheduling.k8s.io/group-name", PodGroupName(job)}};
    if (s.scheduling.queue) meta["annotations"]["volcano.sh/queue-name"] = *s.scheduling.queue;
  } else if (s.scheduling.gang == api::Gang::kSchedulerPlugins) {
    meta["labels"]["scheduling.x-k8s.io/pod-group"] = PodGroupName(job);
  }
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec}};
  return MergePodTemplate(std::move(pod), s.pod_template);
}

json LauncherPod(const api::DefaultedJob& job, const std::string& stage, int64_t attempt) {
  const api::DefaultedSpec& s = job.spec;
  const std::string& log_dir = s.log_dir;
  json container = {
      {"name", kRoleLauncher},
      {"image", s.image},
      {"imagePullPolicy", s.image_pull_policy},
      {"command", LauncherCommand()},
      {"args", MpirunArgs(s, stage)},
      {"env",
       {Env("OMPI_MCA_plm_rsh_args", "-p " + std::to_string(kSshPort) + " -i " + std::string(kSshDir) +
                                         "/ssh-privatekey -o StrictHostKeyChecking=yes -o "
                                         "UserKnownHostsFile=" +
                                         kKnownHostsPath + " -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR"),
        // Only the launcher holds the gang's known_hosts: it starts every worker's daemon
        // itself instead of having workers ssh on to others (Open MPI's tree spawn).
        Env("OMPI_MCA_plm_rsh_no_tree_spawn", "true"), Env("KUBECNN_KNOWN_HOSTS", kKnownHostsPath),
        Env("KUBECNN_SSH_DIR", kSshDir), Env("KUBECNN_SSH_PORT", std::to_string(kSshPort)),
        Env("OMPI_MCA_orte_keep_fqdn_hostnames", "true"), Env("KUBECNN_HOSTFILE", kHostfilePath),
        Env("KUBECNN_LOG_DIR", log_dir), Env("KUBECNN_EVAL_RESULT", stage == kStageEvaluate ? "1" : "0"),
        Env("KUBECNN_TERMINATION_LOG", kTerminationMessagePath)}},
      {"terminationMessagePath", kTerminationMessagePath},
      // with no trainer error line in the termination message, the log's tail
      {"terminationMessagePolicy", "FallbackToLogsOnError"},
      {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}}},
      {"securityContext", ContainerSecurityContext()},
      {"volumeMounts", json::array()}};
  json spec = {{"restartPolicy", "Never"},
               {"automountServiceAccountToken", false},  // mpirun reaches the workers over ssh, not the API
               {"securityContext", PodSecurityContext()},
               {"volumes", json::array()}};
  const std::vector<std::string> forward_if_set = S3OptionalEnv(s);
  if (!forward_if_set.empty()) {
    std::string names;
    for (const std::string& name : forward_if_set) names += (names.empty() ? "" : " ") + name;
    container["env"].push_back(Env(kEnvForwardIfSet, names));
  }
  // The launcher reads eval-*.json from the checkpoint volume (with an s3:// logDir, from mpirun's
  // output); it needs no data and no GPU.
  AddCommonVolumes(job, spec, container, /*data=*/false);
  spec["containers"] = json::array({container});
  json meta = ChildMetadata(job, LauncherName(job, stage, attempt));
  meta["labels"] = PodLabels(job, kRoleLauncher, attempt);
  meta["labels"][kLabelStage] = stage;
  if (s.scheduling.priority_class_name) spec["priorityClassName"] = *s.scheduling.priority_class_name;
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec}};
  return MergePodTemplate(std::move(pod), s.pod_template);
}

json MergePodTemplate(json pod, const api::PodTemplateSpec& pod_template) {
  json& meta = pod["metadata"];
  for (const char* field : {"labels", "annotations"}) {
    const json& theirs = std::string(field) == "labels" ? pod_template.labels : pod_template.annotations;
    if (!theirs.is_object() || theirs.empty()) continue;
    if (!meta.contains(field)) meta[field] = json::object();
    MergeObject(meta[field], theirs);
  }
  if (!pod_template.spec.is_object()) return pod;
  json& spec = pod["spec"];
  json& ours = spec["containers"][0];
  const std::string our_name = ours["name"];
  for (const auto& [key, value] : pod_template.spec.items()) {
    if (key == "containers" || key == "volumes" || key == "initContainers") continue;
    if (key == "automountServiceAccountToken") {  // a template whose pods call the API may ask for a token
      spec[key] = value;
      continue;
    }
    if (key == "securityContext") {
      json merged = value;
      MergeObject(merged, spec["securityContext"]);
      spec["securityContext"] = merged;  // the template's settings win (e.g. another runAsUser)
      continue;
    }
    if (!spec.contains(key)) spec[key] = value;
  }
  if (pod_template.spec.contains("initContainers")) spec["initContainers"] = pod_template.spec["initContainers"];
  for (const json& volume : pod_template.spec.value("volumes", json::array())) spec["volumes"].push_back(volume);
  for (const json& c : pod_template.spec.value("containers", json::array())) {
    const std::string name = c.value("name", "");
    if (name == our_name) {
      for (const char* list : {"env", "envFrom", "volumeMounts"}) {
        for (const json& item : c.value(list, json::array())) ours[list].push_back(item);
      }
      if (c.contains("securityContext")) {  // the template's settings win, ours stay for the rest
        json merged = c["securityContext"];
        MergeObject(merged, ours["securityContext"]);
        ours["securityContext"] = merged;
      }
    } else if (name != kRoleWorker && name != kRoleLauncher) {
      spec["containers"].push_back(c);  // a sidecar
    }
  }
  return pod;
}

}  // namespace kubecnn::controller

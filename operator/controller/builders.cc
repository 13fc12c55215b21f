// Service, ConfigMap, Secret and PodGroup builders.
#include "operator/controller/builders.h"

#include "operator/controller/names.h"
#include "operator/kube/base64.h"

namespace kubecnn::controller {
namespace {

using kube::Base64Encode;
using nlohmann::json;

}  // namespace

json ChildMetadata(const api::JobMeta& job, const std::string& name) {
  return {{"name", name},
          {"namespace", job.Namespace()},
          {"labels", JobLabels(job)},
          {"ownerReferences", json::array({ControllerReference(job)})}};
}

json HeadlessService(const api::JobMeta& job) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", ChildMetadata(job, ServiceName(job))},
          {"spec",
           {{"clusterIP", "None"},
            {"publishNotReadyAddresses", true},
            {"selector", {{kLabelJobName, job.Name()}, {kLabelRole, kRoleWorker}}},
            {"ports", json::array({{{"name", "ssh"}, {"port", kSshPort}, {"targetPort", kSshPort}}})}}}};
}

std::string Hostfile(const api::DefaultedJob& job) {
  std::string out;
  for (int64_t i = 0; i < job.spec.workers; ++i) {
    out += WorkerHost(job, i) + " slots=" + std::to_string(job.spec.slots_per_worker) + "\n";
  }
  return out;
}

std::string SshdConfig() {
  const std::string dir = kSshDir;
  return "# sshd of a kubecnn worker: runs as the pod's non-root user; mpirun's only way in.\n"
         "Port " +
         std::to_string(kSshPort) +
         "\n"
         "HostKey " +
         dir +
         "/ssh-privatekey\n"
         "AuthorizedKeysFile " +
         dir +
         "/authorized_keys\n"
         "PidFile /tmp/kubecnn-sshd.pid\n"
         "PubkeyAuthentication yes\n"
         "PasswordAuthentication no\n"
         "KbdInteractiveAuthentication no\n"
         "UsePAM no\n"
         // Secret volumes are root-owned and group-readable (fsGroup); the key files are still private to the pod.
         "StrictModes no\n"
         "PermitRootLogin no\n"
         "X11Forwarding no\n"
         "AllowTcpForwarding no\n";
}

json HostfileConfigMap(const api::DefaultedJob& job) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", ChildMetadata(job, ConfigMapName(job))},
          {"data", {{"hostfile", Hostfile(job)}, {"sshd_config", SshdConfig()}}}};
}

json SshSecret(const api::JobMeta& job, const SshKeyPair& keys) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", ChildMetadata(job, SecretName(job))},
          {"type", "kubernetes.io/ssh-auth"},
          {"data",
           {{"ssh-privatekey", Base64Encode(keys.private_key_pem)},
            {"ssh-publickey", Base64Encode(keys.public_key + "\n")},
            {"authorized_keys", Base64Encode(keys.public_key + "\n")}}}};
}

const kube::Resource& PodGroupResource(api::Gang gang) {
  return gang == api::Gang::kVolcano ? kube::resources::kVolcanoPodGroups : kube::resources::kSchedulerPluginsPodGroups;
}

json PodGroup(const api::DefaultedJob& job) {
  const kube::Resource& resource = PodGroupResource(job.spec.scheduling.gang);
  json spec = {{"minMember", job.spec.workers}};
  if (job.spec.scheduling.gang == api::Gang::kVolcano) {
    if (job.spec.scheduling.queue) spec["queue"] = *job.spec.scheduling.queue;
    if (job.spec.scheduling.priority_class_name) spec["priorityClassName"] = *job.spec.scheduling.priority_class_name;
  } else {
    spec["scheduleTimeoutSeconds"] = job.spec.scheduling.schedule_timeout_seconds;
  }
  return {{"apiVersion", resource.ApiVersion()},
          {"kind", "PodGroup"},
          {"metadata", ChildMetadata(job, PodGroupName(job))},
          {"spec", spec}};
}

}  // namespace kubecnn::controller

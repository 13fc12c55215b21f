// The podTemplate allow-list and the checks of containers, volumes and security contexts.
#include "operator/api/pod_template_policy.h"

#include <algorithm>
#include <set>

namespace kubecnn::api {
namespace {

using nlohmann::json;

const char* kPath = "spec.podTemplate.spec";

// Fields the operator sets itself (hostname, subdomain, restartPolicy, ...) or that bypass the
// scheduler or the node's isolation, with what to use instead.
const std::vector<std::pair<std::string, std::string>>& Refused() {
  static const std::vector<std::pair<std::string, std::string>> refused = {
      {"hostNetwork", "host namespaces are not for a TrainingJob's pods (they would share the node's network)"},
      {"hostPID", "host namespaces are not for a TrainingJob's pods (they would see the node's processes)"},
      {"hostIPC", "host namespaces are not for a TrainingJob's pods (they would share the node's IPC)"},
      {"nodeName", "bypasses the scheduler and gang admission: use nodeSelector or affinity"},
      {"ephemeralContainers", "are for debugging running pods (kubectl debug), not for a template"},
  };
  return refused;
}

void Add(std::vector<TemplateRefusal>& out, const std::string& field, const std::string& message) {
  out.push_back({field, message});
}

// A container's securityContext: no privilege beyond what Pod Security "baseline" allows, and no
// added capabilities at all (the operator's own containers drop them all).
void CheckSecurityContext(const json& sc, const std::string& at, std::vector<TemplateRefusal>& out) {
  if (!sc.is_object()) return;
  if (sc.value("privileged", false)) Add(out, at + ".privileged", "privileged containers are not allowed");
  if (sc.contains("capabilities") && sc["capabilities"].is_object() &&
      !sc["capabilities"].value("add", json::array()).empty()) {
    Add(out, at + ".capabilities.add", "adding capabilities is not allowed (every container drops ALL)");
  }
  if (sc.value("procMount", "Default") != "Default") Add(out, at + ".procMount", "must be Default");
  if (sc.contains("seccompProfile") && sc["seccompProfile"].is_object() &&
      sc["seccompProfile"].value("type", "") == "Unconfined") {
    Add(out, at + ".seccompProfile.type", "Unconfined is not allowed: use RuntimeDefault or Localhost");
  }
  if (sc.contains("windowsOptions") && sc["windowsOptions"].is_object() &&
      sc["windowsOptions"].value("hostProcess", false)) {
    Add(out, at + ".windowsOptions.hostProcess", "host processes are not allowed");
  }
}

void CheckContainers(const json& spec, const char* list, std::vector<TemplateRefusal>& out) {
  if (!spec.contains(list)) return;
  const json& containers = spec[list];
  const std::string at = std::string(kPath) + "." + list;
  if (!containers.is_array()) return;  // Validate says so
  for (size_t i = 0; i < containers.size(); ++i) {
    const std::string item = at + "[" + std::to_string(i) + "]";
    if (!containers[i].is_object()) continue;
    CheckSecurityContext(containers[i].value("securityContext", json()), item + ".securityContext", out);
    for (const json& port : containers[i].value("ports", json::array())) {
      if (port.is_object() && port.contains("hostPort")) {
        Add(out, item + ".ports[].hostPort", "host ports are not allowed (they bind the node's network)");
      }
    }
  }
}

void CheckVolumes(const json& spec, std::vector<TemplateRefusal>& out) {
  if (!spec.contains("volumes")) return;
  const std::string at = std::string(kPath) + ".volumes";
  if (!spec["volumes"].is_array()) {
    Add(out, at, "must be a list of volumes");
    return;
  }
  for (size_t i = 0; i < spec["volumes"].size(); ++i) {
    const json& v = spec["volumes"][i];
    if (v.is_object() && v.contains("hostPath")) {
      Add(out, at + "[" + std::to_string(i) + "].hostPath",
          "host paths are not allowed: use a persistentVolumeClaim (spec.volumes.data for shards) or an emptyDir");
    }
  }
}

void CheckPodSecurityContext(const json& spec, std::vector<TemplateRefusal>& out) {
  if (!spec.contains("securityContext") || !spec["securityContext"].is_object()) return;
  const json& sc = spec["securityContext"];
  const std::string at = std::string(kPath) + ".securityContext";
  if (sc.contains("seccompProfile") && sc["seccompProfile"].is_object() &&
      sc["seccompProfile"].value("type", "") == "Unconfined") {
    Add(out, at + ".seccompProfile.type", "Unconfined is not allowed: use RuntimeDefault or Localhost");
  }
  if (sc.contains("sysctls")) Add(out, at + ".sysctls", "sysctls are not allowed in a TrainingJob's pods");
}

}  // namespace

const std::vector<std::string>& AllowedPodTemplateFields() {
  static const std::vector<std::string> fields = {
      // where the pods run
      "nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "priorityClassName", "preemptionPolicy",
      "runtimeClassName", "schedulingGates", "os", "readinessGates", "resourceClaims",
      // what they carry
      "containers", "initContainers", "volumes", "imagePullSecrets", "securityContext", "dnsPolicy", "dnsConfig",
      "hostAliases", "enableServiceLinks", "shareProcessNamespace", "terminationGracePeriodSeconds",
      "automountServiceAccountToken", "serviceAccountName"};
  return fields;
}

std::vector<TemplateRefusal> CheckPodTemplate(const json& spec, const PodTemplatePolicy& policy) {
  std::vector<TemplateRefusal> out;
  if (spec.is_null()) return out;
  if (!spec.is_object()) {
    Add(out, kPath, "must be an object (a partial PodSpec)");
    return out;
  }
  const std::vector<std::string>& allowed = AllowedPodTemplateFields();
  for (const auto& [key, value] : spec.items()) {
    const std::string at = std::string(kPath) + "." + key;
    const auto refused =
        std::find_if(Refused().begin(), Refused().end(), [&](const auto& r) { return r.first == key; });
    if (refused != Refused().end()) {
      if (key.rfind("host", 0) == 0 && value == false) continue;  // hostNetwork: false asks for nothing
      Add(out, at, refused->second);
    } else if (key == "serviceAccountName" || key == "serviceAccount") {
      if (!policy.allow_service_account) {
        Add(out, at,
            "pods of a TrainingJob run as the namespace's default ServiceAccount; another one needs the chart's "
            "operator.podTemplate.allowServiceAccount=true (whoever may create TrainingJobs then acts as any "
            "ServiceAccount of the namespace)");
      }
    } else if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const std::string& f : allowed) list += (list.empty() ? "" : ", ") + f;
      Add(out, at,
          "not allowed in a TrainingJob's pod template (the operator sets it, or it is unknown); allowed: " + list);
    }
  }
  CheckContainers(spec, "containers", out);
  CheckContainers(spec, "initContainers", out);
  CheckVolumes(spec, out);
  CheckPodSecurityContext(spec, out);
  return out;
}

}  // namespace kubecnn::api

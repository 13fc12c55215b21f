// Resource table and REST path building.
#include "operator/kube/resource.h"

#include <cctype>
#include <cstdio>

namespace kubecnn::kube {
namespace resources {
const Resource kPods{"", "v1", "pods", "Pod", true};
const Resource kServices{"", "v1", "services", "Service", true};
const Resource kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
const Resource kSecrets{"", "v1", "secrets", "Secret", true};
const Resource kEvents{"", "v1", "events", "Event", true};
const Resource kNamespaces{"", "v1", "namespaces", "Namespace", false};
const Resource kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
const Resource kVolcanoPodGroups{"scheduling.volcano.sh", "v1beta1", "podgroups", "PodGroup", true};
const Resource kSchedulerPluginsPodGroups{"scheduling.x-k8s.io", "v1alpha1", "podgroups", "PodGroup", true};
const Resource kTrainingJobs{"kubecnn.io", "v1alpha1", "trainingjobs", "TrainingJob", true};
}  // namespace resources

std::string CollectionPath(const Resource& resource, std::string_view ns) {
  std::string path =
      resource.group.empty() ? "/api/" + resource.version : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty()) path += "/namespaces/" + std::string(ns);
  return path + "/" + resource.plural;
}

std::string ObjectPath(const Resource& resource, std::string_view ns, std::string_view name,
                       std::string_view subresource) {
  std::string path = CollectionPath(resource, ns) + "/" + std::string(name);
  if (!subresource.empty()) path += "/" + std::string(subresource);
  return path;
}

std::string ObjectKey(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

const nlohmann::json& MetadataOf(const nlohmann::json& object) {
  static const nlohmann::json kNone = nlohmann::json::object();
  if (!object.is_object()) return kNone;
  const auto it = object.find("metadata");
  return it != object.end() && it->is_object() ? *it : kNone;
}

std::string ObjectKey(const nlohmann::json& object) {
  const nlohmann::json& meta = MetadataOf(object);
  return ObjectKey(meta.value("namespace", ""), meta.value("name", ""));
}

std::string UrlEncode(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace kubecnn::kube

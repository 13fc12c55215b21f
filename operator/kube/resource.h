// The API resources the operator uses, and the REST paths kube-apiserver serves them under.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kubecnn::kube {

struct Resource {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;  // path segment: "pods"
  std::string kind;    // "Pod"
  bool namespaced = true;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
};

namespace resources {
extern const Resource kPods;
extern const Resource kServices;
extern const Resource kConfigMaps;
extern const Resource kSecrets;
extern const Resource kEvents;
extern const Resource kNamespaces;
extern const Resource kLeases;
extern const Resource kVolcanoPodGroups;           // scheduling.volcano.sh/v1beta1
extern const Resource kSchedulerPluginsPodGroups;  // scheduling.x-k8s.io/v1alpha1
extern const Resource kTrainingJobs;               // kubecnn.io/v1alpha1
}  // namespace resources

// "/api/v1/namespaces/ns/pods" or "/apis/group/version/plural"; `ns` is ignored for cluster-scoped
// resources and may be empty for namespaced ones (all namespaces).
std::string CollectionPath(const Resource& resource, std::string_view ns);
// CollectionPath + "/name" [+ "/subresource"].
std::string ObjectPath(const Resource& resource, std::string_view ns, std::string_view name,
                       std::string_view subresource = "");

// "namespace/name" (or "name" for cluster-scoped objects): the key of caches and work queues.
std::string ObjectKey(const nlohmann::json& object);
std::string ObjectKey(std::string_view ns, std::string_view name);
// The object's "metadata" in place (json::value() would copy it), or an empty object.
const nlohmann::json& MetadataOf(const nlohmann::json& object);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass through).
std::string UrlEncode(std::string_view value);

}  // namespace kubecnn::kube

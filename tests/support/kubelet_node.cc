// RegisterNode, WriteNodeStatus, AdvertiseKubeletPort, RenewNodeLease: a kubelet's writes about its
// node.
#include "tests/support/kubelet_node.h"

#include "operator/kube/api_error.h"
#include "operator/kube/clock.h"
#include "operator/kube/resource.h"

namespace kubecnn::testing {
namespace {

using nlohmann::json;

const kube::Resource kNodes{"", "v1", "nodes", "Node", false};
constexpr const char* kNodeLeaseNamespace = "kube-node-lease";
constexpr int64_t kLeaseSeconds = 40;

}  // namespace

void RegisterNode(kube::Client& client, const NodeRegistration& node) {
  json labels = {{"kubernetes.io/hostname", node.name}, {"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", "amd64"}};
  for (const auto& [key, value] : node.labels) labels[key] = value;
  try {
    client.Create(kNodes, "",
                  {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", node.name}, {"labels", labels}}}});
  } catch (const kube::ApiError& e) {
    if (e.code() != 409) throw;  // registered before: the same node again
  }
  WriteNodeStatus(client, node);
}

void WriteNodeStatus(kube::Client& client, const NodeRegistration& node) {
  const std::string now = kube::FormatTime(client.clock().WallNow());
  const json status = {{"capacity", node.resources},
                       {"allocatable", node.resources},
                       {"conditions", json::array({{{"type", "Ready"},
                                                    {"status", "True"},
                                                    {"reason", "KubeletReady"},
                                                    {"message", "kubelet is posting ready status"},
                                                    {"lastHeartbeatTime", now},
                                                    {"lastTransitionTime", now}}})},
                       {"addresses", json::array({{{"type", "InternalIP"}, {"address", node.internal_ip}},
                                                  {{"type", "Hostname"}, {"address", node.name}}})},
                       {"nodeInfo",
                        {{"kubeletVersion", "v1.26.4"},
                         {"kubeProxyVersion", "v1.26.4"},
                         {"operatingSystem", "linux"},
                         {"architecture", "amd64"},
                         {"containerRuntimeVersion", node.runtime}}}};
  client.MergePatch(kNodes, "", node.name, {{"status", status}}, /*status=*/true);
}

void AdvertiseKubeletPort(kube::Client& client, const std::string& node_name, int port) {
  client.MergePatch(kNodes, "", node_name, {{"status", {{"daemonEndpoints", {{"kubeletEndpoint", {{"Port", port}}}}}}}},
                    /*status=*/true);
}

void RenewNodeLease(kube::Client& client, const std::string& node_name) {
  const std::string now = kube::FormatMicroTime(client.clock().WallNow());
  try {
    client.MergePatch(kube::resources::kLeases, kNodeLeaseNamespace, node_name, {{"spec", {{"renewTime", now}}}});
  } catch (const kube::ApiError& e) {
    if (e.code() != 404) throw;
    client.Create(
        kube::resources::kLeases, kNodeLeaseNamespace,
        {{"apiVersion", "coordination.k8s.io/v1"},
         {"kind", "Lease"},
         {"metadata", {{"name", node_name}, {"namespace", kNodeLeaseNamespace}}},
         {"spec", {{"holderIdentity", node_name}, {"leaseDurationSeconds", kLeaseSeconds}, {"renewTime", now}}}});
  }
}

}  // namespace kubecnn::testing

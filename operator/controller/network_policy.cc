// Per-job NetworkPolicy builders and the parser of the peers the operator's flags name.
#include "operator/controller/network_policy.h"

#include <stdexcept>

#include "operator/controller/builders.h"
#include "operator/controller/names.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;

json JobPodSelector(const api::JobMeta& job, const char* role) {
  json labels = {{kLabelJobName, job.Name()}};
  if (role) labels[kLabelRole] = role;
  return {{"matchLabels", labels}};
}

json Policy(const api::JobMeta& job, const std::string& name, const char* role, json ingress) {
  return {{"apiVersion", kNetworkPolicies.ApiVersion()},
          {"kind", kNetworkPolicies.kind},
          {"metadata", ChildMetadata(job, name)},
          {"spec",
           {{"podSelector", JobPodSelector(job, role)},
            {"policyTypes", json::array({"Ingress"})},
            {"ingress", std::move(ingress)}}}};
}

}  // namespace

const kube::Resource kNetworkPolicies = {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true};

json ParseNetworkPolicyPeers(const std::string& flag, const std::string& text) {
  if (text.empty()) return json::array();
  const std::string where = "--" + flag + ": ";
  json peers;
  try {
    peers = json::parse(text);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument(where + "not JSON (" + e.what() +
                                "); pass a list of NetworkPolicyPeers, e.g. "
                                "[{\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":"
                                "\"monitoring\"}}}]");
  }
  if (!peers.is_array()) throw std::invalid_argument(where + "not a JSON list of NetworkPolicyPeers");
  for (size_t i = 0; i < peers.size(); ++i) {
    const json& peer = peers[i];
    const std::string item = where + "entry " + std::to_string(i) + " ";
    if (!peer.is_object() || peer.empty()) {
      throw std::invalid_argument(item +
                                  "is not a NetworkPolicyPeer (an object with podSelector, namespaceSelector "
                                  "or ipBlock)");
    }
    for (const auto& [key, value] : peer.items()) {
      if (key != "podSelector" && key != "namespaceSelector" && key != "ipBlock") {
        throw std::invalid_argument(item + "has \"" + key +
                                    "\"; a NetworkPolicyPeer has only podSelector, namespaceSelector and ipBlock");
      }
      if (!value.is_object()) throw std::invalid_argument(item + "has a " + key + " that is not an object");
    }
  }
  return peers;
}

json WorkerNetworkPolicy(const api::DefaultedJob& job, const NetworkPolicyConfig& config) {
  json ingress = json::array({{{"from", json::array({{{"podSelector", JobPodSelector(job, nullptr)}}})}}});
  json from = json::array();
  for (const json* peers : {&config.operator_from, &config.metrics_from}) {
    for (const json& peer : *peers) from.push_back(peer);
  }
  // A rule without peers would admit every source: none is written when no one is named.
  if (!from.empty()) {
    json port = {{"protocol", "TCP"}, {"port", kMetricsBasePort}};
    if (job.spec.slots_per_worker > 1) port["endPort"] = kMetricsBasePort + job.spec.slots_per_worker - 1;
    ingress.push_back({{"from", from}, {"ports", json::array({port})}});
  }
  return Policy(job, NetworkPolicyName(job, kRoleWorker), kRoleWorker, std::move(ingress));
}

json LauncherNetworkPolicy(const api::JobMeta& job) {
  json ingress = json::array({{{"from", json::array({{{"podSelector", JobPodSelector(job, kRoleWorker)}}})}}});
  return Policy(job, NetworkPolicyName(job, kRoleLauncher), kRoleLauncher, std::move(ingress));
}

}  // namespace kubecnn::controller

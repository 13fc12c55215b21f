// What a kubelet tells the API server about its node, shared by the e2e suite's node agent and the
// scale benchmark's hollow node: the Node object (labels, capacity, a Ready condition, addresses,
// the kubelet's port) and the Lease in kube-node-lease whose renewals the node lifecycle controller watches.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/kube/client.h"

namespace kubecnn::testing {

// The kubelet's renewal period: a quarter of the 40 s lease.
inline constexpr std::chrono::seconds kNodeLeaseRenewal{10};

struct NodeRegistration {
  std::string name;
  std::string internal_ip;
  nlohmann::json resources;                   // capacity and allocatable: {"cpu": "16", "memory": "64Gi", ...}
  std::string runtime;                        // nodeInfo.containerRuntimeVersion, e.g. "kubecnn-e2e://1"
  std::map<std::string, std::string> labels;  // besides kubernetes.io/{hostname,os,arch}
};

// Creates the Node (one that exists already is this node registering again), then writes its
// status. `client` authenticates as system:node:<name> (NodeRestriction allows a node only itself).
void RegisterNode(kube::Client& client, const NodeRegistration& node);
// Capacity, allocatable, Ready, addresses and nodeInfo, through nodes/status.
void WriteNodeStatus(kube::Client& client, const NodeRegistration& node);
// Advertises where kube-apiserver reaches the node's kubelet API (pods/log, at the InternalIP):
// status.daemonEndpoints.kubeletEndpoint.Port, through nodes/status. WriteNodeStatus keeps it.
void AdvertiseKubeletPort(kube::Client& client, const std::string& node_name, int port);
// Renews the node's Lease, creating it the first time.
void RenewNodeLease(kube::Client& client, const std::string& node_name);

}  // namespace kubecnn::testing

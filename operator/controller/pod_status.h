// Reading a pod's state the way the controller needs it: scheduled, ready, failed (and why, with
// the container's exit code), its unschedulable message, its termination message, its gang attempt.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace kubecnn::controller {

std::string PodPhase(const nlohmann::json& pod);
bool IsScheduled(const nlohmann::json& pod);    // spec.nodeName set or PodScheduled True
bool IsReady(const nlohmann::json& pod);        // Running, Ready True, with an IP (so its DNS record exists)
bool IsTerminating(const nlohmann::json& pod);  // metadata.deletionTimestamp set
bool HasSucceeded(const nlohmann::json& pod);

struct PodFailure {
  std::string why;  // "worker-2 failed (Evicted: the node was low on memory)"
  std::optional<int> exit_code;
};
// nullopt while the pod is healthy: failed pods, pods in phase Unknown (lost node) and pods being
// deleted by someone else (eviction, drain) count as failed.
std::optional<PodFailure> FailureOf(const nlohmann::json& pod);

// Message of PodScheduled=False ("0/8 nodes are available: 8 Insufficient nvidia.com/gpu."), or "".
std::string UnschedulableMessage(const nlohmann::json& pod);
// The terminated container's message (its terminationMessagePath), or "".
std::string TerminationMessage(const nlohmann::json& pod, const std::string& container);
// kubecnn.io/attempt, or -1 when absent or malformed.
int64_t AttemptOf(const nlohmann::json& pod);
std::string PodName(const nlohmann::json& pod);

// The pod informer's transform: keeps metadata (without managedFields), spec.nodeName and of the
// status what the functions above and the planner read (phase, reason, message, podIP, conditions'
// type/status/reason/message, containers' name/ready/restarts and state reason/message/exit code).
// The rest of the spec (containers, volumes, the API server's defaults) is three quarters of a pod
// and would cost the operator about 150 KB per four-worker job in its cache; the kubelet's
// timestamps, images and IDs in the status took it over 100 MB with 1,000 jobs' gangs running.
void KeepWhatTheControllerReads(nlohmann::json& pod);

}  // namespace kubecnn::controller

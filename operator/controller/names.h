// Names and labels of a TrainingJob's children. Every name derives from the job's (and the launcher's
// from the gang attempt), so a restarted operator finds what an earlier one created, and worker
// hostnames are stable across gang restarts.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/training_job.h"

namespace kubecnn::controller {

inline constexpr const char* kLabelJobName = "kubecnn.io/job-name";
inline constexpr const char* kLabelRole = "kubecnn.io/role";  // worker | launcher
inline constexpr const char* kLabelIndex = "kubecnn.io/replica-index";
inline constexpr const char* kLabelAttempt = "kubecnn.io/attempt";  // gang attempt the pod belongs to
inline constexpr const char* kLabelStage = "kubecnn.io/stage";      // Train | Evaluate (launchers)
inline constexpr const char* kRoleWorker = "worker";
inline constexpr const char* kRoleLauncher = "launcher";
inline constexpr const char* kStageTrain = "Train";
inline constexpr const char* kStageEvaluate = "Evaluate";

inline constexpr int kSshPort = 2222;  // sshd runs as a non-root user, so not 22
inline constexpr int kMetricsBasePort = 9400;
inline constexpr int64_t kRunAsUser = 1000;
inline constexpr const char* kHostfilePath = "/etc/kubecnn/hostfile";
inline constexpr const char* kSshDir = "/etc/kubecnn/ssh";
inline constexpr const char* kKnownHostsPath = "/tmp/kubecnn-known_hosts";  // written by the launcher script
inline constexpr const char* kSshdConfigPath = "/etc/kubecnn/sshd_config";
inline constexpr const char* kTerminationMessagePath = "/dev/termination-log";

std::string ServiceName(const api::JobMeta& job);  // headless Service; the pods' subdomain
std::string ConfigMapName(const api::JobMeta& job);
std::string SecretName(const api::JobMeta& job);
std::string PodGroupName(const api::JobMeta& job);
std::string WorkerName(const api::JobMeta& job, int64_t index);
// -launcher / -eval for attempt 0, then -launcher-<attempt> / -eval-<attempt>: a new gang's launcher
// never waits for an earlier one's name, so the last finished one can stay for its log.
std::string LauncherName(const api::JobMeta& job, const std::string& stage, int64_t attempt);
// The NetworkPolicy of the job's pods of `role` (kRoleWorker: -workers, kRoleLauncher: -launcher).
std::string NetworkPolicyName(const api::JobMeta& job, const std::string& role);
// <worker>.<service>.<namespace>.svc: what the hostfile lists and the launcher resolves.
std::string WorkerHost(const api::JobMeta& job, int64_t index);

// Labels every child carries (selector of the headless Service and of the operator's informers).
nlohmann::json JobLabels(const api::JobMeta& job);
// The ownerReference that makes the job the controller of a child (garbage collection cascades).
nlohmann::json ControllerReference(const api::JobMeta& job);
// Whether `object` is controlled by the job with `uid`.
bool IsControlledBy(const nlohmann::json& object, const std::string& uid);
// The (namespace, name) of the TrainingJob controlling `object`, or empty strings.
std::pair<std::string, std::string> ControllingJob(const nlohmann::json& object);

}  // namespace kubecnn::controller

// TrainingJob status conditions: their types, the constant reasons the controller uses, and the
// rule that a condition's lastTransitionTime moves only when its status changes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "operator/api/training_job.h"

namespace kubecnn::controller {

namespace condition {
inline constexpr const char* kCreated = "Created";
inline constexpr const char* kScheduled = "Scheduled";
inline constexpr const char* kRunning = "Running";
inline constexpr const char* kRestarting = "Restarting";
inline constexpr const char* kSucceeded = "Succeeded";
inline constexpr const char* kFailed = "Failed";
inline constexpr const char* kSuspended = "Suspended";
inline constexpr const char* kInvalid = "Invalid";
inline constexpr const char* kBlocked = "Blocked";  // the API server or a foreign object stops the job
}  // namespace condition

namespace reason {
inline constexpr const char* kJobCreated = "JobCreated";
inline constexpr const char* kWaitingForScheduling = "WaitingForScheduling";
inline constexpr const char* kAllWorkersScheduled = "AllWorkersScheduled";
inline constexpr const char* kScheduleTimeout = "ScheduleTimeout";
inline constexpr const char* kLauncherRunning = "LauncherRunning";
inline constexpr const char* kEvaluating = "Evaluating";
inline constexpr const char* kGangRestart = "GangRestart";
inline constexpr const char* kGangRunning = "GangRunning";
inline constexpr const char* kTrainingSucceeded = "TrainingSucceeded";
inline constexpr const char* kEvaluationSucceeded = "EvaluationSucceeded";
inline constexpr const char* kEvaluationResultUnreadable = "EvaluationResultUnreadable";
inline constexpr const char* kPermanentError = "PermanentError";  // trainer exit code 2
inline constexpr const char* kBackoffLimitExceeded = "BackoffLimitExceeded";
inline constexpr const char* kDeadlineExceeded = "DeadlineExceeded";
inline constexpr const char* kJobSuspended = "JobSuspended";
inline constexpr const char* kJobResumed = "JobResumed";
inline constexpr const char* kInvalidSpec = "InvalidSpec";
inline constexpr const char* kSpecValid = "SpecValid";
inline constexpr const char* kResizeRefused = "ResizeRefused";  // workers/slotsPerWorker changed after creation
inline constexpr const char* kResourceNotOwned = "ResourceNotOwned";
inline constexpr const char* kForbidden = "Forbidden";                // 403 from RBAC
inline constexpr const char* kAdmissionRefused = "AdmissionRefused";  // 403 from Pod Security, a quota, a webhook
inline constexpr const char* kGangSchedulerMissing = "GangSchedulerMissing";  // PodGroup kind not served
inline constexpr const char* kUnblocked = "Unblocked";
inline constexpr const char* kTtlExpired = "TTLExpired";  // Event only
}  // namespace reason

// The condition of `type`, or nullptr.
const api::Condition* FindCondition(const api::TrainingJobStatus& status, const std::string& type);
bool IsTrue(const api::TrainingJobStatus& status, const std::string& type);

// Sets condition `type`. lastTransitionTime becomes `now` only when the status changes;
// lastUpdateTime when anything (reason, message) does. Returns whether the status or reason changed
// (callers emit an Event then, so a loop does not repeat one every pass).
bool SetCondition(api::TrainingJobStatus& status, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, const std::string& now);
// Sets `type` to False with `reason` only if it is present and True (absent stays absent).
bool ClearCondition(api::TrainingJobStatus& status, const std::string& type, const std::string& reason,
                    const std::string& message, const std::string& now);

}  // namespace kubecnn::controller

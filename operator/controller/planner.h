// The TrainingJob reconciler's pure core: given the job and the world as observed, the actions that
// move the world toward the spec and the status that describes it. No I/O, no clock, no randomness:
// the controller (controller.h) gathers Observed, calls Reconcile and carries out the Plan.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/pod_template_policy.h"
#include "operator/api/training_job.h"
#include "operator/controller/network_policy.h"
#include "operator/kube/clock.h"
#include "operator/kube/resource.h"

namespace kubecnn::controller {

// A write of the last pass that the API server refused for a reason the job should show: RBAC or an
// admission plugin (403), a PodGroup kind that is not served (no gang scheduler), an object of a
// child's name that the job does not control.
struct Refusal {
  std::string reason;  // a reason:: constant (conditions.h)
  std::string message;
  bool operator==(const Refusal&) const = default;
};

struct Observed {
  std::vector<nlohmann::json> pods;  // pods the job controls
  // Children found under their names and controlled by the job; null when absent.
  nlohmann::json service;
  nlohmann::json config_map;
  nlohmann::json secret;
  nlohmann::json pod_group;
  nlohmann::json worker_policy;  // NetworkPolicies, with PlannerConfig::network_policy on
  nlohmann::json launcher_policy;
  // Objects under a child's name that the job does not control: the job refuses to touch them.
  std::vector<nlohmann::json> foreign;
  std::optional<api::Progress> progress;  // rank 0's metrics, when the launcher runs and answered
  std::vector<Refusal> refused;           // from the last pass's writes; shown in condition Blocked
};

struct PlannerConfig {
  // Back-off before a restarted gang's pods are created: base * 2^(restarts-1), capped.
  std::chrono::seconds restart_backoff{10};
  std::chrono::seconds restart_backoff_max{300};
  // Back-off after all-or-nothing admission released a gang that did not fit.
  std::chrono::seconds admission_backoff{30};
  std::chrono::seconds admission_backoff_max{600};
  // How often progress is refreshed while the launcher runs.
  std::chrono::seconds progress_period{15};
  // How often a Blocked job is looked at again: objects of other owners are not watched, and a
  // fixed RBAC or a newly installed gang scheduler sends no event.
  std::chrono::seconds blocked_recheck{10};
  // What spec.podTemplate may set (the chart's operator.podTemplate values).
  api::PodTemplatePolicy pod_template;
  // Per-job NetworkPolicies (--network_policies). On, a gang's pods are created only once both of
  // its policies are seen in place, so no member ever runs unprotected.
  NetworkPolicyConfig network_policy;
};

enum class ActionKind {
  kCreate,           // object: what to create (its kind says where)
  kUpdate,           // object: the whole object, with the resourceVersion it is based on
  kDelete,           // name (+ uid precondition)
  kCreateSshSecret,  // the shell generates the key pair and creates SshSecret(job, keys)
  kDeleteJob,        // ttlSecondsAfterFinished ran out
};

struct Action {
  ActionKind kind = ActionKind::kCreate;
  kube::Resource resource;
  nlohmann::json object;
  std::string name;
  std::string uid;  // kDelete precondition: only this incarnation
  std::string why;  // for the log
};

struct EventRecord {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
  bool operator==(const EventRecord&) const = default;
};

struct Plan {
  std::vector<Action> actions;
  api::TrainingJobStatus status;  // to write when it differs from the job's
  std::vector<EventRecord> events;
  std::optional<kube::Duration> requeue_after;  // come back then even if nothing changes
  bool gang_restarted = false;                  // for the gang-restart counter
};

// Decides one pass. `job` is as stored (spec not yet defaulted); `now` is the wall clock.
Plan Reconcile(const api::TrainingJob& job, const Observed& observed, kube::WallTime now,
               const PlannerConfig& config = {});

// base * 2^failures capped at max (0 when base is 0).
std::chrono::seconds Backoff(std::chrono::seconds base, std::chrono::seconds max, int64_t failures);

}  // namespace kubecnn::controller

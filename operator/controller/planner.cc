// Reconcile, in a fixed order: defaults -> validate -> refuse foreign objects -> finished jobs
// (clean-up, TTL) -> suspend -> deadline -> outcome of the current gang (success, evaluation,
// permanent failure, restart) -> owned objects -> stale pods -> workers -> admission -> launcher ->
// status rebuilt from what was observed.
#include "operator/controller/planner.h"

#include <algorithm>
#include <map>

#include "operator/api/defaults.h"
#include "operator/api/time_format.h"
#include "operator/api/validation.h"
#include "operator/controller/builders.h"
#include "operator/controller/conditions.h"
#include "operator/controller/names.h"
#include "operator/controller/network_policy.h"
#include "operator/controller/pod_builders.h"
#include "operator/controller/pod_status.h"
#include "operator/controller/progress.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::string Label(const json& pod, const char* key) {
  const json& labels = pod["metadata"].value("labels", json::object());
  return labels.is_object() ? labels.value(key, "") : "";
}

int64_t IndexOf(const json& pod) {
  try {
    return std::stoll(Label(pod, kLabelIndex));
  } catch (const std::exception&) {
    return -1;
  }
}

// Status timestamps are whole seconds: a time the operator waits until is rounded up, so a back-off
// is never cut short.
std::string FormatTimeRoundedUp(kube::WallTime t) {
  const auto whole = std::chrono::time_point_cast<seconds>(t);
  return api::FormatTime(whole < t ? whole + seconds(1) : whole);
}

std::string SecondsText(kube::Duration d) {
  return std::to_string(std::chrono::duration_cast<seconds>(d).count()) + " s";
}

class Planner {
 public:
  Planner(const api::TrainingJob& job, const Observed& observed, kube::WallTime now, const PlannerConfig& config)
      : observed_(observed), now_(now), now_text_(api::FormatTime(now)), config_(config) {
    raw_ = job;
    raw_.spec = api::WithDefaults(job.spec);
    plan_.status = job.status;
  }

  Plan Run() {
    api::TrainingJobStatus& st = plan_.status;
    st.observed_generation = raw_.Generation();
    st.workers.desired = *raw_.spec.workers;
    if (!CheckValid()) return Finish();
    ReportBlocked();
    if (!observed_.foreign.empty()) return RefuseForeign();
    if (IsFinished()) {
      CleanUp();
      Ttl();
      return Finish();
    }
    if (job_.spec.run_policy.suspend) return Suspend();
    if (ClearCondition(st, condition::kSuspended, reason::kJobResumed, "resumed; pods are re-created", now_text_)) {
      Event("Normal", reason::kJobResumed, "resumed: re-creating the gang; the trainer resumes from its checkpoint");
    }
    if (DeadlinePassed()) return Finish();
    ClassifyPods();
    if (!JudgeOutcome()) return Finish();
    EnsureOwnedObjects();
    SweepStalePods();
    if (WaitingForBackoff()) {
      Counts();
      SetPhase();
      return Finish();
    }
    CreateWorkers();
    if (!Admission()) return Finish();
    CreateLauncher();
    Counts();
    SetPhase();
    Progress();
    return Finish();
  }

 private:
  // ---- steps ----

  bool CheckValid() {
    api::TrainingJobStatus& st = plan_.status;
    const std::vector<api::FieldError> errors = api::Validate(raw_, config_.pod_template);
    if (!errors.empty()) {
      const std::string message = "invalid spec: " + api::Describe(errors) + "; fix the TrainingJob and apply it again";
      if (SetCondition(st, condition::kInvalid, true, reason::kInvalidSpec, message, now_text_)) {
        Event("Warning", reason::kInvalidSpec, message);
      }
      st.phase = api::Name(api::Phase::kFailed);
      return false;
    }
    job_ = api::Defaulted(raw_);  // valid: from here on plain values and enums
    if (const std::optional<std::string> resized = Resized()) {
      // The gang keeps running at its size; nothing is judged, created or deleted until it is set back.
      st.workers.desired = raw_.status.workers.desired;
      if (SetCondition(st, condition::kInvalid, true, reason::kResizeRefused, *resized, now_text_)) {
        Event("Warning", reason::kResizeRefused, *resized);
      }
      return false;
    }
    if (ClearCondition(st, condition::kInvalid, reason::kSpecValid, "the spec is valid", now_text_) &&
        st.phase == api::Name(api::Phase::kFailed) && !IsTrue(st, condition::kFailed)) {
      st.phase = api::Name(api::Phase::kPending);
    }
    return true;
  }

  std::string ForeignMessage(const json& object) const {
    return object.value("kind", std::string("object")) + " " + object["metadata"].value("name", "") +
           " already exists and is not controlled by TrainingJob " + job_.Name() +
           "; delete or rename it (the job waits until then)";
  }

  // Condition Blocked says what the API server refused on the last pass, or which foreign object
  // holds a child's name; it clears once writes go through again.
  void ReportBlocked() {
    api::TrainingJobStatus& st = plan_.status;
    std::vector<Refusal> blockers = observed_.refused;
    for (const json& object : observed_.foreign)
      blockers.insert(blockers.begin(), {reason::kResourceNotOwned, ForeignMessage(object)});
    if (blockers.empty()) {
      if (ClearCondition(st, condition::kBlocked, reason::kUnblocked, "the API server accepts the job's writes",
                         now_text_)) {
        Event("Normal", reason::kUnblocked, "no longer blocked: the API server accepts the job's writes");
      }
      return;
    }
    std::string message = blockers.front().message;
    if (blockers.size() > 1) message += " (and " + std::to_string(blockers.size() - 1) + " more refused)";
    // Foreign objects have their own Events (RefuseForeign), one per object.
    if (SetCondition(st, condition::kBlocked, true, blockers.front().reason, message, now_text_) &&
        blockers.front().reason != reason::kResourceNotOwned) {
      Event("Warning", blockers.front().reason, message);
    }
    Requeue(config_.blocked_recheck);
  }

  // A gang is never resized: the trainer resumes a checkpoint only at the world size that wrote it.
  // The CRD refuses the change (a CEL transition rule); this catches API servers that do not run it,
  // comparing the spec with the hostfile the gang was created with.
  std::optional<std::string> Resized() const {
    if (observed_.config_map.is_null()) return std::nullopt;
    const std::string was = observed_.config_map.value("data", json::object()).value("hostfile", "");
    if (was.empty() || was == Hostfile(job_)) return std::nullopt;
    const int64_t workers = std::count(was.begin(), was.end(), '\n');
    const size_t at = was.find("slots=");
    const std::string slots = at == std::string::npos ? "?" : was.substr(at + 6, was.find('\n', at) - at - 6);
    const std::string old_size = std::to_string(workers) + " x " + slots;
    return "spec.workers x spec.slotsPerWorker changed from " + old_size + " to " + std::to_string(job_.spec.workers) +
           " x " + std::to_string(job_.spec.slots_per_worker) +
           " after the gang was created; a gang is not resized, since the trainer resumes a checkpoint only at the "
           "world size that wrote it: set it back to " +
           old_size + ", or create a new TrainingJob";
  }

  Plan RefuseForeign() {
    for (const json& object : observed_.foreign) Event("Warning", reason::kResourceNotOwned, ForeignMessage(object));
    return Finish();
  }

  bool IsFinished() const {
    return IsTrue(plan_.status, condition::kSucceeded) || IsTrue(plan_.status, condition::kFailed);
  }

  // Terminal: the pods that cleanPodPolicy says to remove, and the PodGroup.
  void CleanUp() {
    const api::CleanPodPolicy policy = job_.spec.run_policy.clean_pod_policy;
    for (const json& pod : observed_.pods) {
      if (IsTerminating(pod)) continue;
      const std::string phase = PodPhase(pod);
      const bool done = phase == "Succeeded" || phase == "Failed";
      if (policy == api::CleanPodPolicy::kAll || (policy == api::CleanPodPolicy::kRunning && !done))
        DeletePod(pod, std::string("the job finished (cleanPodPolicy ") + api::Name(policy) + ")");
    }
    if (!observed_.pod_group.is_null()) {
      Delete(PodGroupResource(job_.spec.scheduling.gang), observed_.pod_group, "the job finished");
    }
    Counts();
  }

  void Ttl() {
    const auto& ttl = job_.spec.run_policy.ttl_seconds_after_finished;
    const auto done = plan_.status.completion_time ? api::ParseTime(*plan_.status.completion_time) : std::nullopt;
    if (!ttl || !done) return;
    const kube::WallTime expiry = *done + seconds(*ttl);
    if (now_ >= expiry) {
      Event("Normal", reason::kTtlExpired,
            "deleting the job: finished " + std::to_string(*ttl) + " s ago (spec.runPolicy.ttlSecondsAfterFinished)");
      plan_.actions.push_back({ActionKind::kDeleteJob, kube::resources::kTrainingJobs, nullptr, job_.Name(), job_.Uid(),
                               "ttlSecondsAfterFinished"});
    } else {
      Requeue(expiry - now_);
    }
  }

  Plan Suspend() {
    api::TrainingJobStatus& st = plan_.status;
    if (SetCondition(st, condition::kSuspended, true, reason::kJobSuspended,
                     "suspended (spec.runPolicy.suspend): pods deleted; set it to false to resume from the last "
                     "checkpoint",
                     now_text_)) {
      Event("Normal", reason::kJobSuspended, "suspended: deleting the gang's pods");
      ++st.attempt;  // pods still terminating belong to the old gang, never to the resumed one
    }
    for (const json& pod : observed_.pods) {
      if (!IsTerminating(pod)) DeletePod(pod, "the job is suspended");
    }
    if (!observed_.pod_group.is_null()) {
      Delete(PodGroupResource(job_.spec.scheduling.gang), observed_.pod_group, "the job is suspended");
    }
    ClearCondition(st, condition::kRunning, reason::kJobSuspended, "suspended", now_text_);
    ClearCondition(st, condition::kRestarting, reason::kJobSuspended, "suspended", now_text_);
    st.start_time.reset();  // activeDeadlineSeconds counts from the resume
    st.retry_after.reset();
    st.phase = api::Name(api::Phase::kSuspended);
    Counts();
    return Finish();
  }

  bool DeadlinePassed() {
    const auto& deadline = job_.spec.run_policy.active_deadline_seconds;
    const auto start = plan_.status.start_time ? api::ParseTime(*plan_.status.start_time) : std::nullopt;
    if (!deadline || !start) return false;
    const kube::WallTime end = *start + seconds(*deadline);
    if (now_ < end) {
      Requeue(end - now_);
      return false;
    }
    Complete(false, reason::kDeadlineExceeded,
             "ran longer than spec.runPolicy.activeDeadlineSeconds (" + std::to_string(*deadline) + " s)");
    return true;
  }

  void ClassifyPods() {
    workers_.clear();
    launchers_.clear();
    const int64_t attempt = plan_.status.attempt;
    for (const json& pod : observed_.pods) {
      if (AttemptOf(pod) != attempt) continue;
      const std::string role = Label(pod, kLabelRole);
      if (role == kRoleWorker && IndexOf(pod) >= 0 && IndexOf(pod) < job_.spec.workers) {
        workers_[IndexOf(pod)] = &pod;
      } else if (role == kRoleLauncher) {
        launchers_[Label(pod, kLabelStage)] = &pod;
      }
    }
  }

  std::string Stage() const {
    return job_.spec.mode == api::Mode::kEvaluate || plan_.status.training_completion_time ? kStageEvaluate
                                                                                           : kStageTrain;
  }

  const json* Launcher() const {
    auto it = launchers_.find(Stage());
    return it == launchers_.end() ? nullptr : it->second;
  }

  // Success, evaluation hand-over, permanent failure or gang restart. False when the job finished.
  bool JudgeOutcome() {
    api::TrainingJobStatus& st = plan_.status;
    const json* launcher = Launcher();
    if (launcher && HasSucceeded(*launcher) && Stage() == kStageTrain) {
      // The trainer exits 0 only after its last step; the last scrape of rank 0 may be older.
      if (st.progress && st.progress->total_steps) {
        st.progress->step = st.progress->total_steps;
        st.progress->updated_at = now_text_;
      }
      if (!job_.spec.evaluation.enabled) {
        Complete(true, reason::kTrainingSucceeded, "training finished");
        return false;
      }
      st.training_completion_time = now_text_;
      Event("Normal", reason::kTrainingSucceeded, "training finished; evaluating the final checkpoint");
      launcher = Launcher();  // the evaluation launcher, not created yet
    }
    if (launcher && HasSucceeded(*launcher) && Stage() == kStageEvaluate) {
      try {
        api::EvaluationResult result = ParseEvaluationResult(TerminationMessage(*launcher, kRoleLauncher));
        result.completed_at = now_text_;
        st.evaluation = result;
        char text[96];
        std::snprintf(text, sizeof text, "evaluation finished: top-1 %.2f%%, top-5 %.2f%%", 100 * *result.top1,
                      100 * *result.top5);
        Complete(true, reason::kEvaluationSucceeded, text);
      } catch (const std::invalid_argument& e) {
        Complete(false, reason::kEvaluationResultUnreadable,
                 std::string("evaluation exited 0 but its result is unreadable: ") + e.what());
      }
      return false;
    }
    std::optional<PodFailure> failure;
    bool launcher_failed = false;
    if (launcher) {
      failure = FailureOf(*launcher);
      launcher_failed = failure.has_value();
    }
    for (int64_t i = 0; i < job_.spec.workers && !failure; ++i) {
      auto it = workers_.find(i);
      if (it == workers_.end()) {
        // Before the launcher exists a missing worker is simply created; after, a member was lost.
        if (launcher) failure = PodFailure{WorkerName(job_, i) + " disappeared while the gang ran", std::nullopt};
        continue;
      }
      failure = FailureOf(*it->second);
      if (!failure && HasSucceeded(*it->second)) failure = PodFailure{PodName(*it->second) + " exited", std::nullopt};
    }
    if (!failure) return true;
    if (launcher_failed && failure->exit_code == 2) {
      Complete(false, reason::kPermanentError,
               failure->why +
                   ": the trainer rejected its configuration (exit code 2), so restarting cannot help; fix "
                   "spec.trainer and re-create the job");
      return false;
    }
    const int64_t limit = job_.spec.run_policy.backoff_limit;
    if (st.restarts >= limit) {
      Complete(false, reason::kBackoffLimitExceeded,
               failure->why + "; the gang was restarted " + std::to_string(st.restarts) +
                   " times, spec.runPolicy.backoffLimit is " + std::to_string(limit));
      return false;
    }
    ++st.restarts;
    ++st.attempt;
    const seconds delay = Backoff(config_.restart_backoff, config_.restart_backoff_max, st.restarts - 1);
    if (delay.count() > 0) st.retry_after = FormatTimeRoundedUp(now_ + delay);
    const std::string message = failure->why + "; restarting all " + std::to_string(job_.spec.workers) +
                                " workers from the last checkpoint (restart " + std::to_string(st.restarts) + " of " +
                                std::to_string(limit) + ")";
    SetCondition(st, condition::kRestarting, true, reason::kGangRestart, message, now_text_);
    ClearCondition(st, condition::kRunning, reason::kGangRestart, "the gang is restarting", now_text_);
    Event("Warning", reason::kGangRestart, message);
    plan_.gang_restarted = true;
    ClassifyPods();  // the old gang's pods are stale now
    return true;
  }

  void EnsureOwnedObjects() {
    api::TrainingJobStatus& st = plan_.status;
    if (observed_.service.is_null()) Create(HeadlessService(job_), "headless Service");
    const json config_map = HostfileConfigMap(job_);
    if (observed_.config_map.is_null()) {
      Create(config_map, "hostfile ConfigMap");
    } else if (observed_.config_map.value("data", json::object()) != config_map["data"]) {
      json updated = observed_.config_map;
      updated["data"] = config_map["data"];
      plan_.actions.push_back({ActionKind::kUpdate, kube::resources::kConfigMaps, updated, ConfigMapName(job_), "",
                               "the hostfile changed"});
    }
    if (observed_.secret.is_null()) {
      plan_.actions.push_back(
          {ActionKind::kCreateSshSecret, kube::resources::kSecrets, nullptr, SecretName(job_), "", "SSH key pair"});
    }
    const api::Gang gang = job_.spec.scheduling.gang;
    if (gang != api::Gang::kNone && observed_.pod_group.is_null()) {
      plan_.actions.push_back({ActionKind::kCreate, PodGroupResource(gang), PodGroup(job_), PodGroupName(job_), "",
                               std::string("PodGroup for ") + api::Name(gang)});
    }
    const bool policies = config_.network_policy.enabled;
    if (policies) {
      EnsurePolicy(observed_.worker_policy, WorkerNetworkPolicy(job_, config_.network_policy), "workers'");
      EnsurePolicy(observed_.launcher_policy, LauncherNetworkPolicy(job_), "launcher's");
    }
    const bool in_place = !observed_.service.is_null() && !observed_.config_map.is_null() &&
                          !observed_.secret.is_null() && PoliciesInPlace();  // seen in the world, not merely asked for
    const std::string what = policies ? "headless Service, hostfile ConfigMap, SSH Secret and NetworkPolicies"
                                      : "headless Service, hostfile ConfigMap and SSH Secret";
    if (in_place && SetCondition(st, condition::kCreated, true, reason::kJobCreated, what + " in place", now_text_)) {
      Event("Normal", reason::kJobCreated,
            std::string(policies ? "headless Service, hostfile, SSH Secret and NetworkPolicies"
                                 : "headless Service, hostfile and SSH Secret") +
                " in place; gang of " + std::to_string(job_.spec.workers) + " workers");
    }
  }

  // Created when missing; brought back to what the operator's flags say when they changed.
  void EnsurePolicy(const json& observed, json policy, const std::string& whose) {
    const std::string name = policy["metadata"]["name"];
    if (observed.is_null()) {
      Create(std::move(policy), whose + " NetworkPolicy");
    } else if (observed.value("spec", json::object()) != policy["spec"]) {
      json updated = observed;
      updated["spec"] = policy["spec"];
      plan_.actions.push_back(
          {ActionKind::kUpdate, kNetworkPolicies, updated, name, "", "the " + whose + " NetworkPolicy changed"});
    }
  }

  bool PoliciesInPlace() const {
    return !config_.network_policy.enabled ||
           (!observed_.worker_policy.is_null() && !observed_.launcher_policy.is_null());
  }

  // An earlier gang's pods go, except, per stage, the newest launcher that had finished: it holds
  // no resources, its name is its attempt's, and its log is that gang's (`logs --previous`).
  void SweepStalePods() {
    stale_remaining_ = false;
    const int64_t attempt = plan_.status.attempt;
    std::map<std::string, const json*> kept;  // by stage
    for (const json& pod : observed_.pods) {
      const std::string phase = PodPhase(pod);
      if (Label(pod, kLabelRole) != kRoleLauncher || AttemptOf(pod) < 0 || AttemptOf(pod) >= attempt ||
          IsTerminating(pod) || (phase != "Succeeded" && phase != "Failed")) {
        continue;
      }
      const json*& newest = kept[Label(pod, kLabelStage)];
      if (!newest || AttemptOf(pod) > AttemptOf(*newest)) newest = &pod;
    }
    for (const json& pod : observed_.pods) {
      const bool stale_worker = Label(pod, kLabelRole) == kRoleWorker && IndexOf(pod) >= job_.spec.workers;
      if (AttemptOf(pod) == attempt && !stale_worker) continue;
      auto it = kept.find(Label(pod, kLabelStage));
      if (it != kept.end() && it->second == &pod) continue;
      stale_remaining_ = true;
      if (!IsTerminating(pod)) DeletePod(pod, "it belongs to gang attempt " + std::to_string(AttemptOf(pod)));
    }
  }

  bool WaitingForBackoff() {
    api::TrainingJobStatus& st = plan_.status;
    if (!st.retry_after) return false;
    const auto until = api::ParseTime(*st.retry_after);
    if (until && now_ < *until) {
      Requeue(*until - now_);
      return true;
    }
    st.retry_after.reset();
    return false;
  }

  void CreateWorkers() {
    // Hostnames are stable across attempts, so a new gang waits until the old one is gone; with
    // NetworkPolicies on, it also waits for them, so that no member runs unprotected.
    if (stale_remaining_ || !PoliciesInPlace()) return;
    for (int64_t i = 0; i < job_.spec.workers; ++i) {
      if (workers_.count(i)) continue;
      Create(WorkerPod(job_, i, plan_.status.attempt), "worker " + std::to_string(i));
    }
  }

  // All-or-nothing admission without a gang scheduler: a gang not fully scheduled within
  // scheduleTimeoutSeconds is released (so its scheduled members free their nodes) and retried.
  bool Admission() {
    api::TrainingJobStatus& st = plan_.status;
    if (job_.spec.scheduling.gang != api::Gang::kNone || Launcher()) return true;
    if (static_cast<int64_t>(workers_.size()) < job_.spec.workers) return true;
    int64_t scheduled = 0;
    std::optional<kube::WallTime> first;
    std::string waiting;
    for (const auto& [index, pod] : workers_) {
      if (IsScheduled(*pod)) {
        ++scheduled;
      } else if (waiting.empty()) {
        const std::string why = UnschedulableMessage(*pod);
        waiting = PodName(*pod) + ": " + (why.empty() ? "not scheduled yet" : why);
      }
      const auto created = api::ParseTime((*pod)["metadata"].value("creationTimestamp", ""));
      if (created && (!first || *created < *first)) first = created;
    }
    if (scheduled == job_.spec.workers || !first) return true;
    const kube::WallTime deadline = *first + seconds(job_.spec.scheduling.schedule_timeout_seconds);
    if (now_ < deadline) {
      Requeue(deadline - now_);
      return true;
    }
    ++st.admission_retries;
    ++st.attempt;
    const seconds delay = Backoff(config_.admission_backoff, config_.admission_backoff_max, st.admission_retries - 1);
    if (delay.count() > 0) st.retry_after = FormatTimeRoundedUp(now_ + delay);
    const std::string message = std::to_string(scheduled) + " of " + std::to_string(job_.spec.workers) +
                                " workers scheduled after " +
                                std::to_string(job_.spec.scheduling.schedule_timeout_seconds) + " s (" + waiting +
                                "); released the whole gang, retrying in " + SecondsText(delay);
    SetCondition(st, condition::kScheduled, false, reason::kScheduleTimeout, message, now_text_);
    Event("Warning", reason::kScheduleTimeout, message);
    ClassifyPods();
    SweepStalePods();
    Counts();
    st.phase = api::Name(api::Phase::kScheduling);
    Requeue(delay);
    return false;
  }

  void CreateLauncher() {
    if (Launcher() || stale_remaining_) return;
    for (int64_t i = 0; i < job_.spec.workers; ++i) {
      auto it = workers_.find(i);
      if (it == workers_.end() || !IsReady(*it->second)) return;
    }
    Create(LauncherPod(job_, Stage(), plan_.status.attempt),
           Stage() == kStageTrain ? "launcher" : "evaluation launcher");
  }

  void Counts() {
    api::WorkerCounts& c = plan_.status.workers;
    c = {job_.spec.workers, 0, 0, 0};
    for (const auto& [index, pod] : workers_) {
      if (IsScheduled(*pod)) ++c.scheduled;
      if (IsReady(*pod)) ++c.ready;
      if (FailureOf(*pod)) ++c.failed;
    }
  }

  void SetPhase() {
    api::TrainingJobStatus& st = plan_.status;
    const json* launcher = Launcher();
    const bool running = launcher && PodPhase(*launcher) == "Running" && !IsTerminating(*launcher);
    const int64_t w = job_.spec.workers;
    if (!workers_.empty() && !IsTrue(st, condition::kRestarting)) {
      if (st.workers.scheduled == w) {
        SetCondition(st, condition::kScheduled, true, reason::kAllWorkersScheduled,
                     "all " + std::to_string(w) + " workers scheduled", now_text_);
      } else {
        std::string waiting;
        for (const auto& [index, pod] : workers_) {
          if (!IsScheduled(*pod)) {
            const std::string why = UnschedulableMessage(*pod);
            waiting = "; " + PodName(*pod) + ": " + (why.empty() ? "not scheduled yet" : why);
            break;
          }
        }
        SetCondition(st, condition::kScheduled, false, reason::kWaitingForScheduling,
                     std::to_string(st.workers.scheduled) + " of " + std::to_string(w) + " workers scheduled" + waiting,
                     now_text_);
      }
    }
    if (running) {
      // activeDeadlineSeconds counts from here: not while blocked, queued or being scheduled.
      if (!st.start_time) st.start_time = now_text_;
      const bool eval = Stage() == kStageEvaluate;
      const std::string what = eval ? "evaluating on " + std::to_string(w) + " workers"
                                    : "training on " + std::to_string(w * job_.spec.slots_per_worker) + " ranks";
      const char* why = eval ? reason::kEvaluating : reason::kLauncherRunning;
      if (SetCondition(st, condition::kRunning, true, why, what, now_text_)) Event("Normal", why, what);
      if (ClearCondition(st, condition::kRestarting, reason::kGangRunning,
                         "the gang runs again after restart " + std::to_string(st.restarts), now_text_)) {
        Event("Normal", reason::kGangRunning, "the gang runs again after restart " + std::to_string(st.restarts));
      }
    }
    // Between training and evaluation the Running condition stays, and so does the phase.
    const bool evaluation_next =
        Stage() == kStageEvaluate && job_.spec.mode != api::Mode::kEvaluate && IsTrue(st, condition::kRunning);
    if (IsTrue(st, condition::kRestarting)) {
      st.phase = api::Name(api::Phase::kRestarting);
    } else if (running || evaluation_next) {
      st.phase = api::Name(api::Phase::kRunning);
    } else if (!workers_.empty() && st.workers.scheduled < w) {
      st.phase = api::Name(api::Phase::kScheduling);
    } else {
      st.phase = api::Name(api::Phase::kPending);
    }
    if (running) Requeue(config_.progress_period);
  }

  void Progress() {
    if (!observed_.progress || !Launcher() || Stage() != kStageTrain) return;
    api::Progress p = *observed_.progress;
    if (plan_.status.progress) p.last_checkpoint = plan_.status.progress->last_checkpoint;
    if (job_.spec.trainer.num_batches && !job_.spec.trainer.num_epochs) p.total_steps = job_.spec.trainer.num_batches;
    p.updated_at = now_text_;
    plan_.status.progress = p;
  }

  // ---- helpers ----

  void Complete(bool success, const char* why, const std::string& message) {
    api::TrainingJobStatus& st = plan_.status;
    SetCondition(st, success ? condition::kSucceeded : condition::kFailed, true, why, message, now_text_);
    ClearCondition(st, condition::kRunning, why, success ? "finished" : "failed", now_text_);
    ClearCondition(st, condition::kRestarting, why, success ? "finished" : "failed", now_text_);
    st.phase = api::Name(success ? api::Phase::kSucceeded : api::Phase::kFailed);
    st.completion_time = now_text_;
    st.retry_after.reset();
    Event(success ? "Normal" : "Warning", why, message);
    ClassifyPods();
    CleanUp();
    Ttl();
  }

  void Create(json object, const std::string& why) {
    const std::string kind = object.value("kind", "");
    const kube::Resource& r = kind == "Pod"             ? kube::resources::kPods
                              : kind == "Service"       ? kube::resources::kServices
                              : kind == "ConfigMap"     ? kube::resources::kConfigMaps
                              : kind == "NetworkPolicy" ? kNetworkPolicies
                                                        : kube::resources::kSecrets;
    const std::string name = object["metadata"]["name"];
    plan_.actions.push_back({ActionKind::kCreate, r, std::move(object), name, "", why});
  }

  void DeletePod(const json& pod, const std::string& why) { Delete(kube::resources::kPods, pod, why); }

  void Delete(const kube::Resource& resource, const json& object, const std::string& why) {
    plan_.actions.push_back({ActionKind::kDelete, resource, nullptr, object["metadata"].value("name", ""),
                             object["metadata"].value("uid", ""), why});
  }

  void Event(const std::string& type, const std::string& why, const std::string& message) {
    plan_.events.push_back({type, why, message});
  }

  void Requeue(kube::Duration after) {
    if (after < kube::Duration::zero()) after = kube::Duration::zero();
    if (!plan_.requeue_after || after < *plan_.requeue_after) plan_.requeue_after = after;
  }

  Plan Finish() { return std::move(plan_); }

  api::TrainingJob raw_;   // as stored, with WithDefaults: what validation reads
  api::DefaultedJob job_;  // once valid (CheckValid): what every later step reads
  const Observed& observed_;
  kube::WallTime now_;
  std::string now_text_;
  PlannerConfig config_;
  Plan plan_;
  std::map<int64_t, const json*> workers_;
  std::map<std::string, const json*> launchers_;
  bool stale_remaining_ = false;
};

}  // namespace

std::chrono::seconds Backoff(std::chrono::seconds base, std::chrono::seconds max, int64_t failures) {
  if (base.count() <= 0) return seconds(0);
  seconds delay = base;
  for (int64_t i = 0; i < failures && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

Plan Reconcile(const api::TrainingJob& job, const Observed& observed, kube::WallTime now, const PlannerConfig& config) {
  return Planner(job, observed, now, config).Run();
}

}  // namespace kubecnn::controller

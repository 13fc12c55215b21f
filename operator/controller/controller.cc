// The controller shell: informers and queue, Observed from caches, Plan carried out via the client.
#include "operator/controller/controller.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>

#include "operator/api/defaults.h"
#include "operator/controller/builders.h"
#include "operator/controller/conditions.h"
#include "operator/controller/names.h"
#include "operator/controller/network_policy.h"
#include "operator/controller/pod_status.h"
#include "operator/controller/ssh_keys.h"
#include "operator/kube/api_error.h"
#include "trainer/common/log.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;

constexpr const char* kComponent = "controller";

kube::InformerOptions ChildInformerOptions(const ControllerOptions& o) {
  kube::InformerOptions io = o.informer;
  io.reflector.ns = o.ns;
  io.reflector.label_selector = kLabelJobName;  // only our children, not every pod of the cluster
  return io;
}

std::string Kind(const kube::Resource& r) { return r.kind; }

// Validation caps spec.workers; an invalid spec is observed only this far.
constexpr int64_t kMaxObservedWorkers = 10000;
// A new job's status is written by the pass after the one that created its children (see Reconcile).
constexpr kube::Duration kFirstStatusAtLatest = std::chrono::seconds(2);

kube::EventRecorderOptions EventOptions(const ControllerOptions& o) {
  kube::EventRecorderOptions e;
  e.component = "kubecnn-operator";
  e.host = o.instance;
  if (e.host.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) e.host = host;
  }
  return e;
}

}  // namespace

Controller::Controller(kube::Client& client, ControllerOptions options, std::shared_ptr<ProgressScraper> scraper,
                       prometheus::Registry& registry)
    : client_(client),
      options_(std::move(options)),
      progress_(scraper ? std::make_unique<ProgressTracker>(std::move(scraper), options_.planner.progress_period,
                                                            client.clock(),
                                                            [this](const std::string& key) { Enqueue(key); })
                        : nullptr),
      metrics_(registry),
      events_(client, EventOptions(options_)) {
  kube::InformerOptions job_options = options_.informer;
  job_options.reflector.ns = options_.ns;
  jobs_ = std::make_unique<kube::Informer>(client_, kube::resources::kTrainingJobs, job_options);
  jobs_->AddHandlers({[this](const json& o) { Enqueue(kube::ObjectKey(o)); },
                      [this](const json&, const json& o) { Enqueue(kube::ObjectKey(o)); },
                      [this](const json& o) {
                        const std::string key = kube::ObjectKey(o);
                        std::lock_guard<std::mutex> lock(state_mu_);
                        metrics_.SetPhase(key, "");  // under the lock: see the end of Reconcile
                        stale_version_.erase(key);
                        if (progress_) progress_->Forget(key);
                        refused_.erase(key);
                        ssh_secrets_.erase(o.value("metadata", json::object()).value("uid", ""));
                      }});
  const kube::InformerOptions child = ChildInformerOptions(options_);
  const kube::ResourceEventHandlers owner_handlers = {[this](const json& o) { EnqueueOwner(o); },
                                                      [this](const json&, const json& o) { EnqueueOwner(o); },
                                                      [this](const json& o) { EnqueueOwner(o); }};
  const auto make = [&](const kube::Resource& r, kube::Transform transform = kube::DropManagedFields) {
    kube::InformerOptions options = child;
    options.transform = std::move(transform);
    auto informer = std::make_unique<kube::Informer>(client_, r, options);
    informer->AddHandlers(owner_handlers);
    return informer;
  };
  pods_ = make(kube::resources::kPods, KeepWhatTheControllerReads);
  services_ = make(kube::resources::kServices);
  config_maps_ = make(kube::resources::kConfigMaps);
  if (options_.watch_volcano_podgroups) volcano_pod_groups_ = make(kube::resources::kVolcanoPodGroups);
  if (options_.watch_scheduler_plugins_podgroups) {
    scheduler_plugins_pod_groups_ = make(kube::resources::kSchedulerPluginsPodGroups);
  }
  if (options_.planner.network_policy.enabled) network_policies_ = make(kNetworkPolicies);
}

Controller::~Controller() {
  progress_.reset();  // no scrape result wakes a job from here on
  StopWorkers();
  for (kube::Informer* informer : Informers()) informer->Stop();
}

std::vector<kube::Informer*> Controller::Informers() const {
  std::vector<kube::Informer*> out;
  for (const auto* informer : {&jobs_, &pods_, &services_, &config_maps_, &volcano_pod_groups_,
                               &scheduler_plugins_pod_groups_, &network_policies_}) {
    if (*informer) out.push_back(informer->get());
  }
  return out;
}

void Controller::StartInformers() {
  for (kube::Informer* informer : Informers()) informer->Start();
}

bool Controller::HasSynced() const {
  for (const kube::Informer* informer : Informers()) {
    if (!informer->HasSynced()) return false;
  }
  return true;
}

bool Controller::WaitForSync(kube::Duration timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const kube::Informer* informer : Informers()) {
    if (!informer->WaitForSync(deadline - std::chrono::steady_clock::now())) return false;
  }
  return true;
}

void Controller::StartWorkers() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (pool_) return;
  queue_ = std::make_unique<kube::WorkQueue>("trainingjobs", options_.rate_limiter ? options_.rate_limiter() : nullptr,
                                             client_.shared_metrics(), &client_.clock());
  for (const std::string& key : jobs_->store().Keys()) queue_->Add(key);
  pool_ = std::make_unique<kube::WorkerPool>(
      *queue_, options_.workers, [this](const std::string& key) { return Reconcile(key); }, client_.shared_metrics(),
      "trainingjobs");
  LogInfo(kComponent, "reconciling TrainingJobs with " + std::to_string(options_.workers) + " workers");
}

void Controller::StopWorkers() {
  std::unique_ptr<kube::WorkerPool> pool;
  std::unique_ptr<kube::WorkQueue> queue;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    pool = std::move(pool_);
    queue = std::move(queue_);
  }
  if (queue) queue->ShutDown();  // workers finish their current pass and stop
  pool.reset();
}

bool Controller::WorkersRunning() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return pool_ != nullptr;
}

void Controller::Enqueue(const std::string& key) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (queue_) queue_->Add(key);
}

void Controller::EnqueueOwner(const json& object) {
  const auto [ns, name] = ControllingJob(object);
  if (!name.empty()) Enqueue(kube::ObjectKey(ns, name));
}

void Controller::ObserveChild(const kube::Informer& informer, const std::string& kind, const api::TrainingJob& job,
                              const std::string& name, json* owned, std::vector<json>* foreign) {
  const kube::ObjectPtr object = informer.store().Get(kube::ObjectKey(job.Namespace(), name));
  if (!object) return;
  if (IsControlledBy(*object, job.Uid())) {
    if (owned) *owned = *object;
  } else {
    json shown = *object;
    shown["kind"] = kind;  // built-in lists leave kind out of their items
    foreign->push_back(shown);
  }
}

Observed Controller::Observe(const api::TrainingJob& job) {
  Observed o;
  for (const kube::ObjectPtr& pod : pods_->store().ByOwner(job.Uid())) {
    if (IsControlledBy(*pod, job.Uid())) o.pods.push_back(*pod);
  }
  const api::TrainingJobSpec spec = api::WithDefaults(job.spec);
  ObserveChild(*services_, "Service", job, ServiceName(job), &o.service, &o.foreign);
  ObserveChild(*config_maps_, "ConfigMap", job, ConfigMapName(job), &o.config_map, &o.foreign);
  if (network_policies_) {
    ObserveChild(*network_policies_, "NetworkPolicy", job, NetworkPolicyName(job, kRoleWorker), &o.worker_policy,
                 &o.foreign);
    ObserveChild(*network_policies_, "NetworkPolicy", job, NetworkPolicyName(job, kRoleLauncher), &o.launcher_policy,
                 &o.foreign);
  }
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (ssh_secrets_.count(job.Uid())) o.secret = {{"kind", "Secret"}, {"metadata", {{"name", SecretName(job)}}}};
  }
  // The spec may be invalid here (the planner says so): only what is safe to read of it.
  for (int64_t i = 0; i < std::min<int64_t>(*spec.workers, kMaxObservedWorkers); ++i)
    ObserveChild(*pods_, "Pod", job, WorkerName(job, i), nullptr, &o.foreign);
  for (const char* stage : {kStageTrain, kStageEvaluate}) {
    ObserveChild(*pods_, "Pod", job, LauncherName(job, stage, job.status.attempt), nullptr, &o.foreign);
  }
  const std::optional<api::Gang> gang = api::ParseGang(*spec.scheduling.gang);
  if (gang && *gang != api::Gang::kNone) {
    const kube::Informer* informer =
        *gang == api::Gang::kVolcano ? volcano_pod_groups_.get() : scheduler_plugins_pod_groups_.get();
    if (informer) {
      ObserveChild(*informer, "PodGroup", job, PodGroupName(job), &o.pod_group, &o.foreign);
    } else {
      try {  // no informer for this kind: ask the API server
        json pg = client_.Get(PodGroupResource(*gang), job.Namespace(), PodGroupName(job));
        if (IsControlledBy(pg, job.Uid())) {
          o.pod_group = pg;
        } else {
          o.foreign.push_back(pg);
        }
      } catch (const std::exception& e) {
        if (!kube::IsNotFound(e)) throw;
      }
    }
  }
  return o;
}

std::optional<api::Progress> Controller::ScrapeProgress(const api::TrainingJob& job, const std::string& key,
                                                        const Observed& observed) {
  if (!progress_) return std::nullopt;
  const json* launcher = nullptr;
  const json* rank0 = nullptr;
  for (const json& pod : observed.pods) {
    if (AttemptOf(pod) != job.status.attempt) continue;  // an earlier gang's finished launcher may stay
    const json labels = pod["metadata"].value("labels", json::object());
    if (labels.value(kLabelRole, "") == kRoleLauncher && labels.value(kLabelStage, "") == kStageTrain) launcher = &pod;
    if (labels.value(kLabelRole, "") == kRoleWorker && labels.value(kLabelIndex, "") == "0") rank0 = &pod;
  }
  if (!launcher || !rank0 || PodPhase(*launcher) != "Running") return std::nullopt;
  const std::string ip = (*rank0)["status"].value("podIP", "");
  if (ip.empty()) return std::nullopt;
  return progress_->Poll(key, ip, kMetricsBasePort);  // rank 0 is worker 0's first slot (hostfile order)
}

void Controller::RecordInvalidObject(const json& object, const std::string& error) {
  api::TrainingJobStatus status;
  try {
    status = api::StatusFromJson(object.value("status", json::object()));
  } catch (const std::exception&) {
  }
  const std::string message = "invalid spec: " + error;
  const std::string now = kube::FormatTime(client_.clock().WallNow());
  if (!SetCondition(status, condition::kInvalid, true, reason::kInvalidSpec, message, now) &&
      status.phase == api::Name(api::Phase::kFailed)) {
    return;
  }
  status.phase = api::Name(api::Phase::kFailed);
  events_.Record(object, "Warning", reason::kInvalidSpec, message);
  json updated = object;
  updated["status"] = api::StatusToJson(status);
  client_.UpdateStatus(kube::resources::kTrainingJobs, updated);
}

// A refusal the job should show, or nullopt for an error that is only retried.
namespace {

// RBAC (and the Node authorizer) refuse as `<resource> is forbidden: User "<name>" cannot <verb>
// resource ...`. Every other 403 comes from an admission plugin (Pod Security, ResourceQuota, a
// webhook), which no grant to the operator can change.
bool IsRbacRefusal(const std::string& message) {
  const size_t user = message.find("forbidden: User \"");
  return user != std::string::npos && message.find("\" cannot ", user) != std::string::npos;
}

// What to do about a refusal by admission, by the plugin that refused.
std::string AdmissionFix(const std::string& message, const Action& a) {
  if (message.find("violates PodSecurity") != std::string::npos) {
    return "refused by the namespace's Pod Security admission, not by RBAC: the operator's own pods meet "
           "\"restricted\"; remove from spec.podTemplate what the message names, or have an administrator "
           "relax the namespace's pod-security.kubernetes.io/enforce label";
  }
  if (message.find("exceeded quota") != std::string::npos) {
    return "refused by a ResourceQuota of the namespace, not by RBAC: ask for less (spec.workers, the resources "
           "in spec.podTemplate) or have the quota raised";
  }
  const std::string webhook = "admission webhook \"";
  const size_t at = message.find(webhook);
  if (at != std::string::npos) {
    const size_t from = at + webhook.size();
    const std::string name = message.substr(from, message.find('"', from) - from);
    return "refused by the cluster's admission webhook " + name +
           ", not by RBAC: change what it objects to, or ask the administrators who run it";
  }
  return "refused by the API server's admission control, not by RBAC: change the " + a.resource.kind +
         " as the message says" + (a.resource.kind == "Pod" ? " (spec.podTemplate)" : "") +
         ", or ask the cluster's administrators";
}

}  // namespace

std::optional<Refusal> Controller::AsRefusal(const Action& a, const std::exception& e) {
  const auto* api = dynamic_cast<const kube::ApiError*>(&e);
  if (!api) return std::nullopt;
  const std::string what = (a.kind == ActionKind::kDelete ? "deleting " : "writing ") + Kind(a.resource) + " " + a.name;
  if (kube::IsForbidden(e)) {
    const std::string message = api->server_message();
    if (message.find("cannot set blockOwnerDeletion") != std::string::npos) {  // a right the admission checks
      return Refusal{reason::kForbidden,
                     what + ": " + message +
                         " (OwnerReferencesPermissionEnforcement admission: grant the operator's ServiceAccount update "
                         "on trainingjobs/finalizers: charts/kubecnn/templates/clusterrole.yaml)"};
    }
    if (IsRbacRefusal(message)) {
      return Refusal{reason::kForbidden,
                     what + ": " + message +
                         " (grant the operator's ServiceAccount this verb: charts/kubecnn/templates/clusterrole.yaml)"};
    }
    return Refusal{reason::kAdmissionRefused, what + ": " + message + " (" + AdmissionFix(message, a) + ")"};
  }
  if (kube::IsNotFound(e) && a.kind == ActionKind::kCreate && a.resource.kind == "PodGroup") {
    const std::string scheduler =
        a.resource.group == kube::resources::kVolcanoPodGroups.group ? "Volcano" : "scheduler-plugins";
    return Refusal{reason::kGangSchedulerMissing, what + ": the API server does not serve " + a.resource.plural + "." +
                                                      a.resource.group + "/" + a.resource.version + " (is " +
                                                      scheduler +
                                                      " installed?); install it, or set spec.scheduling.gang to None"};
  }
  return std::nullopt;
}

// One action against the API server. A step that stops the pass (an object of another owner in the
// way) says so in `stop`; the others only add to the outcome.
Controller::StepOutcome Controller::ApplyStep(const api::TrainingJob& job, const json& job_object, const Action& a) {
  StepOutcome out;
  const std::string ns = job.Namespace();
  try {
    switch (a.kind) {
      case ActionKind::kCreateSshSecret: {
        try {
          client_.Create(a.resource, ns, SshSecret(job, GenerateSshKeyPair()));
        } catch (const std::exception& e) {
          if (!kube::IsAlreadyExists(e)) throw;  // the uid in its name makes it this job's, from an earlier pass
        }
        std::lock_guard<std::mutex> lock(state_mu_);
        out.ssh_secret_found = ssh_secrets_.insert(job.Uid()).second;
        break;
      }
      case ActionKind::kCreate: {
        try {
          client_.Create(a.resource, ns, a.object);
        } catch (const std::exception& e) {
          if (!kube::IsAlreadyExists(e)) throw;
          const json existing = client_.Get(a.resource, ns, a.name);
          if (!IsControlledBy(existing, job.Uid())) {
            // Objects of other owners are not watched (the informers select our label), so the
            // planner's Blocked condition and its periodic recheck notice when this one goes.
            const std::string message = Kind(a.resource) + " " + a.name +
                                        " already exists and is not controlled by TrainingJob " + job.Name() +
                                        "; delete or rename it (the job waits until then)";
            events_.Record(job_object, "Warning", reason::kResourceNotOwned, message);
            out.refusal = Refusal{reason::kResourceNotOwned, message};
            out.stop = true;  // children come in dependency order (Service, hostfile, Secret, then pods)
          }
        }
        break;
      }
      case ActionKind::kUpdate: client_.Update(a.resource, a.object); break;
      case ActionKind::kDelete:
      case ActionKind::kDeleteJob: {
        kube::DeleteOptions options;
        options.propagation_policy = "Background";
        options.precondition_uid = a.uid;
        try {
          client_.Delete(a.resource, ns, a.name, options);
        } catch (const std::exception& e) {
          // Gone already, or a newer object of that name (the uid precondition): nothing to delete.
          if (!kube::IsNotFound(e) && !kube::IsConflict(e)) throw;
        }
        break;
      }
    }
  } catch (const std::exception& e) {
    metrics_.CountError("apply");
    const std::string what = "TrainingJob " + ns + "/" + job.Name() + ": " +
                             (a.kind == ActionKind::kDelete ? "deleting " : "writing ") + Kind(a.resource) + " " +
                             a.name + " (" + a.why + "): " + e.what();
    LogWarning(kComponent, what);
    out.refusal = AsRefusal(a, e);
    if (!out.refusal) out.error = what;
  }
  return out;
}

namespace {

// A reconcile's writes in flight at once: a 64-worker gang is 64 pod creates, but not 64 threads
// and 64 connections to the API server.
constexpr size_t kMaxWritesInFlight = 8;

// Actions that may run side by side: a gang's pod creates (nothing of one worker depends on
// another) and deletes. Everything else keeps its place in the dependency order. (Sending the
// Service, hostfile and Secret side by side too was measured at N = 1,000: no faster.)
bool Concurrent(const Action& a) {
  return (a.kind == ActionKind::kCreate && a.resource.kind == kube::resources::kPods.kind) ||
         a.kind == ActionKind::kDelete;
}

}  // namespace

// Carries out the plan in order, except that a run of pod creates or deletes goes to the API server
// side by side, one request per action and at most kMaxWritesInFlight at once, so a 64-worker gang
// is 8 round trips, not 64 one after another.
Controller::ApplyOutcome Controller::Apply(const api::TrainingJob& job, const json& job_object, const Plan& plan) {
  ApplyOutcome out;
  const std::vector<Action>& actions = plan.actions;
  for (size_t begin = 0; begin < actions.size();) {
    size_t end = begin + 1;
    while (Concurrent(actions[begin]) && end < actions.size() && actions[end].kind == actions[begin].kind &&
           Concurrent(actions[end])) {
      ++end;
    }
    std::vector<StepOutcome> steps(end - begin);
    {
      // This thread and at most kMaxWritesInFlight - 1 others take the run's actions in turn.
      std::atomic<size_t> next{begin};
      const auto take_turns = [&] {
        for (size_t i = next++; i < end; i = next++) steps[i - begin] = ApplyStep(job, job_object, actions[i]);
      };
      std::vector<std::future<void>> helpers;
      for (size_t h = 1; h < std::min(end - begin, kMaxWritesInFlight); ++h) {
        helpers.push_back(std::async(std::launch::async, take_turns));
      }
      take_turns();
      for (std::future<void>& helper : helpers) helper.get();
    }
    bool stop = false;
    for (StepOutcome& step : steps) {
      out.ssh_secret_found = out.ssh_secret_found || step.ssh_secret_found;
      if (step.refusal && std::find(out.refused.begin(), out.refused.end(), *step.refusal) == out.refused.end()) {
        out.refused.push_back(*step.refusal);
      }
      if (!step.error.empty() && out.error.empty()) out.error = step.error;
      stop = stop || step.stop;
    }
    if (stop) return out;
    begin = end;
  }
  return out;
}

kube::ReconcileResult Controller::Reconcile(const std::string& key) {
  const auto started = std::chrono::steady_clock::now();
  struct Timer {
    ControllerMetrics& m;
    std::chrono::steady_clock::time_point t;
    ~Timer() { m.ObserveReconcile(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count()); }
  } timer{metrics_, started};

  const kube::ObjectPtr cached = jobs_->store().Get(key);
  if (!cached) return {};       // deleted: garbage collection removes the children
  const json object = *cached;  // a copy: the cache is never mutated
  const std::string version = kube::ResourceVersionOf(object);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    auto it = stale_version_.find(key);
    if (it != stale_version_.end() && it->second == version) {
      return {false, std::chrono::milliseconds(100)};  // our last status write has not reached the cache yet
    }
  }
  if (object["metadata"].contains("deletionTimestamp")) return {};
  api::TrainingJob job;
  try {
    job = api::TrainingJobFromJson(object);
  } catch (const std::invalid_argument& e) {
    metrics_.CountError("decode");
    RecordInvalidObject(object, e.what());
    return {};
  }
  Observed observed = Observe(job);
  observed.progress = ScrapeProgress(job, key, observed);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    auto it = refused_.find(key);
    if (it != refused_.end()) observed.refused = it->second;
  }
  const Plan plan = controller::Reconcile(job, observed, client_.clock().WallNow(), options_.planner);
  const bool deleted = std::any_of(plan.actions.begin(), plan.actions.end(),
                                   [](const Action& a) { return a.kind == ActionKind::kDeleteJob; });
  // Status first: a decision (Failed, Succeeded, a restart, a new attempt) is stored before any
  // action that follows from it, so an operator that dies between two writes leaves a world its
  // successor reads the same way. Were the pods of a failed job deleted first, the successor would
  // find no launcher and no failure, and run the job again.
  // Except a new job's first pass, which decides nothing (attempt 0, no condition, no Event): it only
  // creates the children, and the pass their creation triggers writes the status that sees them,
  // one write where there were two. Should a create fail or be refused, this pass writes it after all.
  const bool status_waits = job.status == api::TrainingJobStatus{} && !plan.actions.empty() &&
                            plan.status.phase == api::Name(api::Phase::kPending) && plan.status.conditions.empty() &&
                            plan.events.empty() &&
                            std::all_of(plan.actions.begin(), plan.actions.end(), [](const Action& a) {
                              return a.kind == ActionKind::kCreate || a.kind == ActionKind::kCreateSshSecret;
                            });
  const bool write_status = !deleted && plan.status != job.status;
  if (write_status && !status_waits && !WriteStatus(key, object, version, plan.status)) return {};
  const ApplyOutcome outcome = Apply(job, object, plan);
  const bool all_created = outcome.error.empty() && outcome.refused.empty();
  if (write_status && status_waits && !all_created && !WriteStatus(key, object, version, plan.status)) return {};
  for (const EventRecord& e : plan.events) events_.Record(object, e.type, e.reason, e.message);
  if (plan.gang_restarted) metrics_.CountGangRestart();
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (outcome.refused.empty()) {
      refused_.erase(key);
    } else {
      refused_[key] = outcome.refused;
    }
  }
  {
    // A pass that began before the job's deletion must not put it back into the phase gauge: the
    // cache drops the job before the delete handler (which clears the gauge) takes this lock.
    std::lock_guard<std::mutex> lock(state_mu_);
    metrics_.SetPhase(key, deleted || !jobs_->store().Get(key) ? "" : plan.status.phase);
  }
  if (!outcome.error.empty()) throw std::runtime_error(outcome.error + " (retrying with back-off)");
  kube::ReconcileResult result;
  std::optional<kube::Duration> after = plan.requeue_after;
  // A refusal that the status does not show yet (or no longer holds) is written by the next pass,
  // at once; a standing one is rechecked on the planner's short period, not the growing back-off.
  if (outcome.refused != observed.refused || outcome.ssh_secret_found) after = std::chrono::milliseconds(1);
  // The children's watch events bring the next pass; should none come, this one does.
  if (write_status && status_waits && all_created)
    after = std::min(after.value_or(kFirstStatusAtLatest), kFirstStatusAtLatest);
  if (after) result.requeue_after = std::max<kube::Duration>(*after, std::chrono::milliseconds(1));
  return result;
}

bool Controller::WriteStatus(const std::string& key, const json& object, const std::string& version,
                             const api::TrainingJobStatus& status) {
  json updated = object;
  updated["status"] = api::StatusToJson(status);
  try {
    client_.UpdateStatus(kube::resources::kTrainingJobs, updated);  // conditional on resourceVersion
  } catch (const std::exception& e) {
    metrics_.CountError("status");
    if (kube::IsNotFound(e)) return false;
    if (kube::IsForbidden(e)) {  // the status cannot say so; an Event can, if it is allowed
      events_.Record(object, "Warning", reason::kForbidden,
                     std::string("writing status: ") + e.what() +
                         " (grant update on trainingjobs/status: charts/kubecnn/templates/clusterrole.yaml)");
    }
    throw std::runtime_error(
        "TrainingJob " + key + ": writing status: " + e.what() +
        (kube::IsConflict(e) ? " (the job changed meanwhile; retrying from the new version)" : ""));
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  stale_version_[key] = version;
  return true;
}

}  // namespace kubecnn::controller

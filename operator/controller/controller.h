// The TrainingJob controller's I/O shell: informers on TrainingJobs and on the pods, Services and
// ConfigMaps (and PodGroups) they own (Secrets are created, never read), a work queue keyed by job, and a reconcile
// that gathers Observed from the caches, asks the planner, stores the Plan's status and then carries out its actions
// through the API (status first, so a decision survives an operator killed midway). Caches run on every replica (a
// standby takes over warm); workers run only while leading. With network policies on, they are watched too.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operator/controller/controller_metrics.h"
#include "operator/controller/planner.h"
#include "operator/controller/progress.h"
#include "operator/controller/progress_tracker.h"
#include "operator/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/kube/work_queue.h"

namespace kubecnn::controller {

struct ControllerOptions {
  std::string ns;  // namespace to watch; "" = all
  int workers = 4;
  PlannerConfig planner;
  bool watch_volcano_podgroups = false;  // only where those CRDs are installed
  bool watch_scheduler_plugins_podgroups = false;
  kube::InformerOptions informer;  // reflector settings for every informer (namespace is set here)
  std::unique_ptr<kube::QueueRateLimiter> (*rate_limiter)() = nullptr;  // null: client-go's defaults
  // Events name this replica as their reportingInstance and source.host (the leader-election
  // identity); "" takes the host name.
  std::string instance;
};

class Controller {
 public:
  // `scraper` reads rank 0's metrics (HttpProgressScraper in production); `registry` takes the metrics.
  Controller(kube::Client& client, ControllerOptions options, std::shared_ptr<ProgressScraper> scraper,
             prometheus::Registry& registry);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void StartInformers();
  bool HasSynced() const;
  bool WaitForSync(kube::Duration timeout) const;
  // Starts the workers (enqueueing every known job); StopWorkers stops them at once (lost lease).
  void StartWorkers();
  void StopWorkers();
  bool WorkersRunning() const;

  // One pass for "namespace/name" (what a worker runs; public for tests).
  kube::ReconcileResult Reconcile(const std::string& key);

  ControllerMetrics& metrics() { return metrics_; }

 private:
  std::vector<kube::Informer*> Informers() const;  // every informer this controller runs
  void Enqueue(const std::string& key);
  void EnqueueOwner(const nlohmann::json& object);
  Observed Observe(const api::TrainingJob& job);
  void ObserveChild(const kube::Informer& informer, const std::string& kind, const api::TrainingJob& job,
                    const std::string& name, nlohmann::json* owned, std::vector<nlohmann::json>* foreign);
  // Writes `status` (conditional on the job's resourceVersion `version`); false when the job is
  // gone; throws on other errors, after an Event when the write is forbidden.
  bool WriteStatus(const std::string& key, const nlohmann::json& object, const std::string& version,
                   const api::TrainingJobStatus& status);
  std::optional<api::Progress> ScrapeProgress(const api::TrainingJob& job, const std::string& key,
                                              const Observed& observed);
  struct ApplyOutcome {
    std::string error;              // the first error that is only retried (with back-off)
    std::vector<Refusal> refused;   // what the job should show (condition Blocked)
    bool ssh_secret_found = false;  // the SSH Secret is known to exist since this pass
  };
  struct StepOutcome {
    std::string error;
    std::optional<Refusal> refusal;
    bool ssh_secret_found = false;
    bool stop = false;  // the rest of the plan waits (an object of another owner is in the way)
  };
  ApplyOutcome Apply(const api::TrainingJob& job, const nlohmann::json& job_object, const Plan& plan);
  StepOutcome ApplyStep(const api::TrainingJob& job, const nlohmann::json& job_object, const Action& action);
  static std::optional<Refusal> AsRefusal(const Action& action, const std::exception& e);
  void RecordInvalidObject(const nlohmann::json& object, const std::string& error);

  kube::Client& client_;
  ControllerOptions options_;
  std::unique_ptr<ProgressTracker> progress_;  // null without a scraper
  ControllerMetrics metrics_;
  kube::EventRecorder events_;
  std::unique_ptr<kube::Informer> jobs_;
  std::unique_ptr<kube::Informer> pods_;
  std::unique_ptr<kube::Informer> services_;
  std::unique_ptr<kube::Informer> config_maps_;
  std::unique_ptr<kube::Informer> volcano_pod_groups_;
  std::unique_ptr<kube::Informer> scheduler_plugins_pod_groups_;
  std::unique_ptr<kube::Informer> network_policies_;  // with options_.planner.network_policy on

  mutable std::mutex queue_mu_;
  std::unique_ptr<kube::WorkQueue> queue_;
  std::unique_ptr<kube::WorkerPool> pool_;

  std::mutex state_mu_;
  // The resourceVersion a status write was based on: the cache still showing it is stale.
  std::map<std::string, std::string> stale_version_;
  std::map<std::string, std::vector<Refusal>> refused_;  // by job key: the last pass's refused writes
  std::set<std::string> ssh_secrets_;                    // job uids whose SSH Secret exists (created or 409)
};

}  // namespace kubecnn::controller

// Spec defaulting (see defaults.h for the values and why).
#include "operator/api/defaults.h"

namespace kubecnn::api {
namespace {

template <class T, class V>
void Default(std::optional<T>& field, V value) {
  if (!field) field = T(value);
}

}  // namespace

TrainingJobSpec WithDefaults(TrainingJobSpec spec) {
  Default(spec.mode, "Train");
  Default(spec.image_pull_policy, "IfNotPresent");
  Default(spec.workers, kDefaultWorkers);
  Default(spec.slots_per_worker, kDefaultSlotsPerWorker);
  if (spec.volumes.checkpoints.is_null()) spec.volumes.checkpoints = {{"emptyDir", nlohmann::json::object()}};
  if (!spec.volumes.data.is_null()) Default(spec.trainer.data_dir, kDataMountPath);
  Default(spec.trainer.log_dir, kCheckpointMountPath);
  Default(spec.trainer.precision, "fp32");
  Default(spec.run_policy.backoff_limit, kDefaultBackoffLimit);
  Default(spec.run_policy.clean_pod_policy, "Running");
  Default(spec.run_policy.suspend, false);
  Default(spec.scheduling.gang, "None");
  if (*spec.scheduling.gang == "Volcano") Default(spec.scheduling.scheduler_name, kVolcanoSchedulerName);
  if (*spec.scheduling.gang == "SchedulerPlugins") {
    Default(spec.scheduling.scheduler_name, kSchedulerPluginsSchedulerName);
  }
  Default(spec.scheduling.schedule_timeout_seconds, kDefaultScheduleTimeoutSeconds);
  Default(spec.evaluation.enabled, false);
  return spec;
}

}  // namespace kubecnn::api

// Spec defaulting (see defaults.h for the values and why).
#include "operator/api/defaults.h"

#include <stdexcept>

#include "operator/api/s3_url.h"

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
  if (!spec.volumes.data.is_null()) Default(spec.trainer.data_dir, kDataMountPath);
  Default(spec.trainer.log_dir, kCheckpointMountPath);
  // Checkpoints in a bucket need no volume; one the user gave is still mounted.
  if (spec.volumes.checkpoints.is_null() && !IsS3Url(spec.trainer.log_dir)) {
    spec.volumes.checkpoints = {{"emptyDir", nlohmann::json::object()}};
  }
  if (spec.storage.s3 && spec.storage.s3->ca_bundle) Default(spec.storage.s3->ca_bundle->key, kDefaultCaBundleKey);
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

namespace {

template <class E>
E Require(std::optional<E> value, const char* field, const std::optional<std::string>& text) {
  if (!value) throw std::logic_error(std::string(field) + ": \"" + text.value_or("") + "\" passed validation");
  return *value;
}

}  // namespace

DefaultedSpec Defaulted(const TrainingJobSpec& raw) {
  const TrainingJobSpec s = WithDefaults(raw);
  DefaultedSpec d;
  d.mode = Require(ParseMode(*s.mode), "spec.mode", s.mode);
  d.image = s.image;
  d.image_pull_policy = *s.image_pull_policy;
  d.workers = *s.workers;
  d.slots_per_worker = *s.slots_per_worker;
  d.resources = s.resources;
  d.trainer = s.trainer;
  d.log_dir = *s.trainer.log_dir;
  d.volumes = s.volumes;
  d.pod_template = s.pod_template;
  d.run_policy = {*s.run_policy.backoff_limit, s.run_policy.active_deadline_seconds,
                  s.run_policy.ttl_seconds_after_finished,
                  Require(ParseCleanPodPolicy(*s.run_policy.clean_pod_policy), "spec.runPolicy.cleanPodPolicy",
                          s.run_policy.clean_pod_policy),
                  *s.run_policy.suspend};
  d.scheduling = {Require(ParseGang(*s.scheduling.gang), "spec.scheduling.gang", s.scheduling.gang),
                  s.scheduling.scheduler_name, s.scheduling.queue, s.scheduling.priority_class_name,
                  *s.scheduling.schedule_timeout_seconds};
  d.evaluation = {*s.evaluation.enabled, s.evaluation.batch_size, s.evaluation.data_dir, s.evaluation.checkpoint};
  if (s.storage.s3) {
    const S3StorageSpec& s3 = *s.storage.s3;
    d.s3 = DefaultedS3Storage{s3.endpoint, s3.region, s3.credentials_secret, std::nullopt};
    if (s3.ca_bundle) d.s3->ca_bundle = DefaultedCaBundle{s3.ca_bundle->config_map, *s3.ca_bundle->key};
  }
  return d;
}

DefaultedJob Defaulted(const TrainingJob& job) {
  DefaultedJob d;
  d.metadata = job.metadata;
  d.spec = Defaulted(job.spec);
  d.status = job.status;
  return d;
}

}  // namespace kubecnn::api

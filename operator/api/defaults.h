// Defaulting of a TrainingJob's spec, once: WithDefaults fills the optional fields (validation reads
// that form), and Defaulted turns a valid one into DefaultedSpec, whose fields are plain values and
// enums, so the rest of the operator neither re-defaults nor dereferences.
#pragma once

#include <cstdint>

#include "operator/api/enums.h"
#include "operator/api/training_job.h"

namespace kubecnn::api {

inline constexpr const char* kDataMountPath = "/data";
inline constexpr const char* kCheckpointMountPath = "/checkpoints";
inline constexpr int64_t kDefaultWorkers = 1;
inline constexpr int64_t kDefaultSlotsPerWorker = 1;
inline constexpr int64_t kDefaultBackoffLimit = 3;
inline constexpr int64_t kDefaultScheduleTimeoutSeconds = 300;
inline constexpr const char* kVolcanoSchedulerName = "volcano";
inline constexpr const char* kSchedulerPluginsSchedulerName = "scheduler-plugins-scheduler";
inline constexpr const char* kDefaultCaBundleKey = "ca.crt";

// Returns `spec` with defaults filled in: mode Train, imagePullPolicy IfNotPresent, 1 worker of 1
// slot, trainer.logDir /checkpoints, trainer.dataDir /data when a data volume is given, precision
// fp32, backoffLimit 3, cleanPodPolicy Running (workers run sshd until deleted, so keeping them would
// hold their GPUs), suspend false, gang None, the gang scheduler's name, scheduleTimeoutSeconds 300,
// evaluation off, an emptyDir for checkpoints when no volume is given and logDir is a path (an
// s3:// logDir needs none), and key ca.crt of storage.s3.caBundle.
TrainingJobSpec WithDefaults(TrainingJobSpec spec);

struct DefaultedRunPolicy {
  int64_t backoff_limit = kDefaultBackoffLimit;
  std::optional<int64_t> active_deadline_seconds;     // none: no deadline
  std::optional<int64_t> ttl_seconds_after_finished;  // none: kept
  CleanPodPolicy clean_pod_policy = CleanPodPolicy::kRunning;
  bool suspend = false;
};

struct DefaultedScheduling {
  Gang gang = Gang::kNone;
  std::optional<std::string> scheduler_name;  // none: the default scheduler
  std::optional<std::string> queue;
  std::optional<std::string> priority_class_name;
  int64_t schedule_timeout_seconds = kDefaultScheduleTimeoutSeconds;
};

struct DefaultedEvaluation {
  bool enabled = false;
  std::optional<int64_t> batch_size;      // none: the training batch size
  std::optional<std::string> data_dir;    // none: the trainer's
  std::optional<std::string> checkpoint;  // none: the newest in logDir
};

struct DefaultedCaBundle {
  std::string config_map;
  std::string key = kDefaultCaBundleKey;
};

struct DefaultedS3Storage {
  std::optional<std::string> endpoint;  // none: the trainer's default (AWS)
  std::optional<std::string> region;    // none: the trainer's default
  std::string credentials_secret;
  std::optional<DefaultedCaBundle> ca_bundle;  // none: the image's CA certificates
};

struct DefaultedSpec {
  Mode mode = Mode::kTrain;
  std::string image;
  std::string image_pull_policy;
  int64_t workers = kDefaultWorkers;
  int64_t slots_per_worker = kDefaultSlotsPerWorker;
  nlohmann::json resources;
  // The trainer's flags: an absent one is not passed (the trainer's own default). logDir is
  // always set, below.
  TrainerSpec trainer;
  std::string log_dir;
  VolumesSpec volumes;  // checkpoints set unless logDir is s3:// and none was given
  std::optional<DefaultedS3Storage> s3;
  PodTemplateSpec pod_template;
  DefaultedRunPolicy run_policy;
  DefaultedScheduling scheduling;
  DefaultedEvaluation evaluation;
};

struct DefaultedJob : JobMeta {
  DefaultedSpec spec;
  TrainingJobStatus status;
};

// WithDefaults of a spec that Validate accepted, as plain values and enums. Throws
// std::logic_error on a spec validation would have refused (an enum value out of range).
DefaultedSpec Defaulted(const TrainingJobSpec& spec);
DefaultedJob Defaulted(const TrainingJob& job);

}  // namespace kubecnn::api

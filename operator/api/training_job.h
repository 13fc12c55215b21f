// The TrainingJob API (kubecnn.io/v1alpha1): typed spec and status, and their JSON forms.
// Fields the user may leave out are std::optional until defaulting fills them, so a round trip
// writes back exactly what was read. Kubernetes objects the operator passes through untouched
// (resources, volume sources, the pod template) stay JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kubecnn::api {

inline constexpr const char* kGroup = "kubecnn.io";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kApiVersion = "kubecnn.io/v1alpha1";
inline constexpr const char* kKind = "TrainingJob";

struct LarcSpec {
  std::optional<std::string> mode;  // clip | scale
  std::optional<double> eta;
};

// The trainer's flags, typed; argv is built from these (operator/controller/trainer_args).
struct TrainerSpec {
  std::string model;
  std::optional<std::string> data_dir;  // a path or s3://bucket/prefix; "" or absent: synthetic data
  std::optional<std::string> log_dir;   // checkpoints, events, eval results: a path or s3://bucket/prefix
  std::optional<int64_t> batch_size;    // per rank
  std::optional<int64_t> num_epochs;
  std::optional<int64_t> num_batches;
  std::optional<int64_t> num_classes;
  std::optional<std::string> precision;  // fp32 | fp16 | bf16
  std::optional<double> learning_rate;
  std::optional<std::string> lr_schedule;
  std::optional<std::string> optimizer;  // sgd | lars
  std::optional<double> momentum;
  std::optional<bool> nesterov;
  std::optional<double> weight_decay;
  std::optional<double> label_smoothing;
  std::optional<LarcSpec> larc;
  std::optional<std::string> loss_scale;  // "128", "dynamic", "dynamic:65536" (an integer in YAML is fine)
  std::optional<int64_t> display_every;
  std::optional<int64_t> save_interval_seconds;
  std::optional<int64_t> num_data_threads;
  std::vector<std::string> extra_args;  // "--flag=value" each, for flags without a typed field
};

struct VolumesSpec {
  nlohmann::json data;         // a core/v1 volume source ({"persistentVolumeClaim": {...}}); null: none
  nlohmann::json checkpoints;  // the same; null: defaulted to emptyDir
};

// A ConfigMap key holding the PEM bundle of the CAs that sign the object store's certificate.
struct CaBundleRef {
  std::string config_map;
  std::optional<std::string> key;  // default ca.crt
};

// An S3-protocol object store (AWS S3, Ceph RGW, MinIO) that the trainer's s3:// paths are read
// from and written to. The credentials stay in the user's Secret: pods read them by reference.
struct S3StorageSpec {
  std::optional<std::string> endpoint;  // http(s)://host[:port]; absent: AWS's own endpoints
  std::optional<std::string> region;
  std::string credentials_secret;  // keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY[, AWS_SESSION_TOKEN]
  std::optional<CaBundleRef> ca_bundle;
};

struct StorageSpec {
  std::optional<S3StorageSpec> s3;
};

struct PodTemplateSpec {
  nlohmann::json labels;       // object of strings or null
  nlohmann::json annotations;  // object of strings or null
  nlohmann::json spec;         // a partial core/v1 PodSpec merged into every pod; null: none
};

struct RunPolicy {
  std::optional<int64_t> backoff_limit;
  std::optional<int64_t> active_deadline_seconds;
  std::optional<int64_t> ttl_seconds_after_finished;
  std::optional<std::string> clean_pod_policy;  // All | Running | None
  std::optional<bool> suspend;
};

struct SchedulingSpec {
  std::optional<std::string> gang;  // None | Volcano | SchedulerPlugins
  std::optional<std::string> scheduler_name;
  std::optional<std::string> queue;
  std::optional<std::string> priority_class_name;
  std::optional<int64_t> schedule_timeout_seconds;
};

struct EvaluationSpec {
  std::optional<bool> enabled;
  std::optional<int64_t> batch_size;
  std::optional<std::string> data_dir;    // default: the trainer's
  std::optional<std::string> checkpoint;  // a path or s3:// object; default: the newest in logDir
};

struct TrainingJobSpec {
  std::optional<std::string> mode;  // Train | Evaluate
  std::string image;
  std::optional<std::string> image_pull_policy;
  std::optional<int64_t> workers;
  std::optional<int64_t> slots_per_worker;
  nlohmann::json resources;  // core/v1 ResourceRequirements per worker pod; null: none
  TrainerSpec trainer;
  VolumesSpec volumes;
  StorageSpec storage;
  PodTemplateSpec pod_template;
  RunPolicy run_policy;
  SchedulingSpec scheduling;
  EvaluationSpec evaluation;
};

struct Condition {
  std::string type;
  std::string status;  // "True" | "False" | "Unknown"
  std::string reason;
  std::string message;
  std::string last_transition_time;
  std::string last_update_time;
  bool operator==(const Condition&) const = default;
};

struct WorkerCounts {
  int64_t desired = 0;
  int64_t scheduled = 0;
  int64_t ready = 0;
  int64_t failed = 0;
  bool operator==(const WorkerCounts&) const = default;
};

struct Progress {
  std::optional<int64_t> epoch;
  std::optional<int64_t> step;
  std::optional<int64_t> total_steps;
  std::optional<double> images_per_second;
  std::optional<double> loss;
  std::optional<double> learning_rate;
  std::optional<std::string> last_checkpoint;
  std::optional<std::string> updated_at;
  bool operator==(const Progress&) const = default;
};

struct EvaluationResult {
  std::optional<double> top1;
  std::optional<double> top5;
  std::optional<int64_t> images;
  std::optional<int64_t> step;
  std::optional<std::string> checkpoint;
  std::optional<std::string> completed_at;
  bool operator==(const EvaluationResult&) const = default;
};

struct TrainingJobStatus {
  std::string phase;  // "" until first reconciled
  std::vector<Condition> conditions;
  std::optional<int64_t> observed_generation;
  std::optional<std::string> start_time;
  std::optional<std::string> completion_time;
  std::optional<std::string> training_completion_time;  // the training stage succeeded (evaluation follows)
  int64_t attempt = 0;                                  // gang generation: pods of other attempts are deleted
  int64_t restarts = 0;                                 // gang restarts after failures (count against backoffLimit)
  int64_t admission_retries = 0;                        // gangs released by all-or-nothing admission
  std::optional<std::string> retry_after;               // no pods are created before this time
  WorkerCounts workers;
  std::optional<Progress> progress;
  std::optional<EvaluationResult> evaluation;
  bool operator==(const TrainingJobStatus&) const = default;
};

// What names a job: its metadata, as the API server sent it.
struct JobMeta {
  nlohmann::json metadata;

  std::string Name() const;
  std::string Namespace() const;
  std::string Uid() const;
  int64_t Generation() const;
};

struct TrainingJob : JobMeta {
  TrainingJobSpec spec;
  TrainingJobStatus status;
};

// JSON -> typed. Throws std::invalid_argument naming the field ("spec.trainer.batchSize: expected
// an integer, got \"64x\"") when a value has the wrong type; unknown fields are ignored, as the API
// server prunes them anyway.
TrainingJob TrainingJobFromJson(const nlohmann::json& object);
TrainingJobSpec SpecFromJson(const nlohmann::json& spec);
TrainingJobStatus StatusFromJson(const nlohmann::json& status);

// Typed -> JSON; absent optionals are left out.
nlohmann::json ToJson(const TrainingJob& job);
nlohmann::json SpecToJson(const TrainingJobSpec& spec);
nlohmann::json StatusToJson(const TrainingJobStatus& status);

}  // namespace kubecnn::api

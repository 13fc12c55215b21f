// TrainingJob validation rules; messages follow the API server's style ("must be ..., got ...")
// and add what to do.
#include "operator/api/validation.h"

#include <map>
#include <regex>
#include <set>

#include "operator/api/s3_url.h"

namespace kubecnn::api {
namespace {

using nlohmann::json;

const std::regex kDns1035Label("[a-z]([-a-z0-9]*[a-z0-9])?");
const std::regex kModelName("[a-z][a-z0-9_]*");
const std::regex kFlag("--([a-z][a-z0-9_]*)(=.*)?");
const std::regex kLossScale("[0-9]+(\\.[0-9]+)?|dynamic(:[0-9]+(\\.[0-9]+)?)?");
const std::regex kDns1123Subdomain("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
const std::regex kConfigMapKey("[-._a-zA-Z0-9]+");
// scheme://host[:port] with an optional trailing '/': no user info (credentials belong in the
// Secret), path, query or fragment.
const std::regex kEndpoint("https?://[^/?#@\\s]+/?");
const std::regex kRegion("[A-Za-z0-9][-A-Za-z0-9_.]*");
const std::regex kUrlScheme("([A-Za-z][-+.A-Za-z0-9]*)://.*");

// What a job whose paths are in a bucket must add, for messages.
const char* kAddS3Storage =
    "add spec.storage.s3 with credentialsSecret (a Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) "
    "and, for a store other than AWS S3, endpoint";

// Reserved trainer flag -> the spec field (or the operator) that sets it.
const std::map<std::string, std::string>& FlagOwners() {
  static const std::map<std::string, std::string> owners = {
      {"model", "spec.trainer.model"},
      {"data_dir", "spec.trainer.dataDir"},
      {"log_dir", "spec.trainer.logDir"},
      {"batch_size", "spec.trainer.batchSize"},
      {"num_epochs", "spec.trainer.numEpochs"},
      {"num_batches", "spec.trainer.numBatches"},
      {"num_classes", "spec.trainer.numClasses"},
      {"fp16", "spec.trainer.precision"},
      {"bf16", "spec.trainer.precision"},
      {"learning_rate", "spec.trainer.learningRate"},
      {"lr_schedule", "spec.trainer.lrSchedule"},
      {"optimizer", "spec.trainer.optimizer"},
      {"momentum", "spec.trainer.momentum"},
      {"nesterov", "spec.trainer.nesterov"},
      {"weight_decay", "spec.trainer.weightDecay"},
      {"label_smoothing", "spec.trainer.labelSmoothing"},
      {"larc_mode", "spec.trainer.larc.mode"},
      {"larc_eta", "spec.trainer.larc.eta"},
      {"loss_scale", "spec.trainer.lossScale"},
      {"display_every", "spec.trainer.displayEvery"},
      {"save_interval", "spec.trainer.saveIntervalSeconds"},
      {"num_data_threads", "spec.trainer.numDataThreads"},
      {"metrics_port", "the operator (rank 0's port is read for status.progress)"},
      {"eval", "spec.mode or spec.evaluation.enabled"},
      {"checkpoint", "spec.evaluation.checkpoint"},
  };
  return owners;
}

class Checker {
 public:
  std::vector<FieldError> errors;
  bool has_s3 = false;  // spec.storage.s3 is given: s3:// paths are reachable

  void Add(const std::string& field, const std::string& message) { errors.push_back({field, message}); }

  template <class T>
  void AtLeast(const std::string& field, const std::optional<T>& value, T minimum) {
    if (value && *value < minimum) {
      Add(field, "must be at least " + Num(minimum) + ", got " + Num(*value));
    }
  }
  template <class T>
  void AtMost(const std::string& field, const std::optional<T>& value, T maximum) {
    if (value && *value > maximum) Add(field, "must be at most " + Num(maximum) + ", got " + Num(*value));
  }
  void Below(const std::string& field, const std::optional<double>& value, double bound) {
    if (value && *value >= bound) Add(field, "must be below " + Num(bound) + ", got " + Num(*value));
  }
  void OneOf(const std::string& field, const std::optional<std::string>& value, const std::set<std::string>& allowed) {
    if (!value || allowed.count(*value)) return;
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    Add(field, "must be one of " + list + ", got \"" + *value + "\"");
  }
  // A path inside the pod, or s3://bucket[/prefix] when spec.storage.s3 says how to reach it.
  void StoragePath(const std::string& field, const std::optional<std::string>& value) {
    if (!value || value->empty() || (*value)[0] == '/') return;
    const std::string shown = "\"" + *value + "\"";
    if (const std::optional<S3Url> url = ParseS3Url(*value)) {
      if (url->bucket.empty()) {
        Add(field, "names no bucket: write s3://BUCKET or s3://BUCKET/prefix, got " + shown);
      } else if (const std::string problem = BucketNameProblem(url->bucket); !problem.empty()) {
        Add(field, "bucket \"" + url->bucket + "\" is not a valid S3 bucket name (" + problem + ")");
      } else if (!has_s3) {
        Add(field, shown + " is in an object store: " + kAddS3Storage);
      }
      return;
    }
    std::smatch m;
    if (std::regex_match(*value, m, kUrlScheme)) {
      Add(field, "scheme " + m[1].str() + ":// is not supported: use a path inside the pod or s3://bucket/prefix");
      return;
    }
    Add(field, "must be an absolute path inside the pod (e.g. /data/imagenet) or s3://bucket/prefix, got " + shown);
  }
  void VolumeSource(const std::string& field, const json& value) {
    if (value.is_null()) return;
    if (!value.is_object() || value.size() != 1) {
      Add(field, "must be one core/v1 volume source, e.g. {persistentVolumeClaim: {claimName: imagenet}}, got " +
                     value.dump().substr(0, 80));
    }
  }

 private:
  template <class T>
  static std::string Num(T v) {
    if constexpr (std::is_floating_point_v<T>) {
      json j = v;
      return j.dump();
    } else {
      return std::to_string(v);
    }
  }
};

void ValidateTrainer(const TrainingJobSpec& spec, Checker& c) {
  const TrainerSpec& t = spec.trainer;
  if (t.model.empty()) {
    c.Add("spec.trainer.model", "required: the network to train, e.g. resnet50 (kubecnn-trainer --list_models)");
  } else if (!std::regex_match(t.model, kModelName)) {
    c.Add("spec.trainer.model", "must be a model name such as resnet50 or inception3, got \"" + t.model + "\"");
  }
  c.StoragePath("spec.trainer.dataDir", t.data_dir);
  c.StoragePath("spec.trainer.logDir", t.log_dir);
  if (t.log_dir && t.log_dir->empty()) c.Add("spec.trainer.logDir", "must not be empty (checkpoints go there)");
  c.AtLeast("spec.trainer.batchSize", t.batch_size, int64_t{1});
  c.AtLeast("spec.trainer.numEpochs", t.num_epochs, int64_t{0});
  c.AtLeast("spec.trainer.numBatches", t.num_batches, int64_t{1});
  c.AtLeast("spec.trainer.numClasses", t.num_classes, int64_t{1});
  if (t.num_epochs && *t.num_epochs > 0 && (!t.data_dir || t.data_dir->empty())) {
    c.Add("spec.trainer.numEpochs",
          "needs a dataset (an epoch is one pass over it): set spec.trainer.dataDir (a path on spec.volumes.data, "
          "or s3://bucket/prefix with spec.storage.s3), or use spec.trainer.numBatches with synthetic data");
  }
  c.OneOf("spec.trainer.precision", t.precision, {"fp32", "fp16", "bf16"});
  c.AtLeast("spec.trainer.learningRate", t.learning_rate, 0.0);
  if (t.lr_schedule && t.lr_schedule->empty()) {
    c.Add("spec.trainer.lrSchedule", "must not be empty; leave it out for the model's default schedule");
  }
  c.OneOf("spec.trainer.optimizer", t.optimizer, {"sgd", "lars"});
  c.AtLeast("spec.trainer.momentum", t.momentum, 0.0);
  c.Below("spec.trainer.momentum", t.momentum, 1.0);
  c.AtLeast("spec.trainer.weightDecay", t.weight_decay, 0.0);
  c.AtLeast("spec.trainer.labelSmoothing", t.label_smoothing, 0.0);
  c.Below("spec.trainer.labelSmoothing", t.label_smoothing, 1.0);
  if (t.larc) {
    c.OneOf("spec.trainer.larc.mode", t.larc->mode, {"clip", "scale"});
    c.AtLeast("spec.trainer.larc.eta", t.larc->eta, 0.0);
  }
  if (t.loss_scale && !std::regex_match(*t.loss_scale, kLossScale)) {
    c.Add(
        "spec.trainer.lossScale",
        "must be a positive number (static scale), \"dynamic\" or \"dynamic:INITIAL\", got \"" + *t.loss_scale + "\"");
  }
  c.AtLeast("spec.trainer.displayEvery", t.display_every, int64_t{1});
  c.AtLeast("spec.trainer.saveIntervalSeconds", t.save_interval_seconds, int64_t{0});
  c.AtLeast("spec.trainer.numDataThreads", t.num_data_threads, int64_t{1});
  for (size_t i = 0; i < t.extra_args.size(); ++i) {
    const std::string field = "spec.trainer.extraArgs[" + std::to_string(i) + "]";
    std::smatch m;
    if (!std::regex_match(t.extra_args[i], m, kFlag)) {
      c.Add(field, "must be one trainer flag written --name or --name=value, got \"" + t.extra_args[i] + "\"");
      continue;
    }
    std::string name = m[1].str();
    if (name.rfind("no", 0) == 0 && FlagOwners().count(name.substr(2))) name = name.substr(2);
    auto owner = FlagOwners().find(name);
    if (owner != FlagOwners().end()) {
      c.Add(field, "--" + name + " is set by " + owner->second + "; use that instead of extraArgs");
    } else if (m[2].matched && IsS3Url(std::string_view(m[2].str()).substr(1)) && !c.has_s3) {
      c.Add(field, "--" + name + " names an object store: " + kAddS3Storage);
    }
  }
}

void ValidateStorage(const StorageSpec& storage, Checker& c) {
  if (!storage.s3) return;
  const S3StorageSpec& s3 = *storage.s3;
  const std::string at = "spec.storage.s3.";
  if (s3.credentials_secret.empty()) {
    c.Add(at + "credentialsSecret",
          "required: the name of a Secret in the job's namespace with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
          "(and optionally AWS_SESSION_TOKEN)");
  } else if (s3.credentials_secret.size() > 253 || !std::regex_match(s3.credentials_secret, kDns1123Subdomain)) {
    c.Add(at + "credentialsSecret",
          "must be a Secret name (DNS-1123 subdomain), got \"" + s3.credentials_secret + "\"");
  }
  if (s3.endpoint) {
    if (s3.endpoint->find('@') != std::string::npos) {
      // Not echoed: the text before '@' may be a password.
      c.Add(at + "endpoint", "must not carry user info (user:password@); the credentials belong in credentialsSecret");
    } else if (!std::regex_match(*s3.endpoint, kEndpoint)) {
      c.Add(at + "endpoint",
            "must be http://host[:port] or https://host[:port] (e.g. http://rook-ceph-rgw-store.rook-ceph.svc:80), got "
            "\"" +
                *s3.endpoint + "\"");
    }
  }
  if (s3.region && (s3.region->size() > 63 || !std::regex_match(*s3.region, kRegion))) {
    c.Add(at + "region", "must be a region name such as us-east-1, got \"" + *s3.region + "\"");
  }
  if (s3.ca_bundle) {
    const CaBundleRef& ca = *s3.ca_bundle;
    if (ca.config_map.empty()) {
      c.Add(at + "caBundle.configMap", "required: the ConfigMap in the job's namespace holding the PEM CA bundle");
    } else if (ca.config_map.size() > 253 || !std::regex_match(ca.config_map, kDns1123Subdomain)) {
      c.Add(at + "caBundle.configMap", "must be a ConfigMap name (DNS-1123 subdomain), got \"" + ca.config_map + "\"");
    }
    if (ca.key && (ca.key->empty() || ca.key->size() > 253 || !std::regex_match(*ca.key, kConfigMapKey))) {
      c.Add(at + "caBundle.key",
            "must be a ConfigMap key (letters, digits, '-', '_' and '.'), got \"" + *ca.key + "\"");
    }
  }
}

}  // namespace

const std::vector<std::string>& ReservedTrainerFlags() {
  static const std::vector<std::string> flags = [] {
    std::vector<std::string> out;
    for (const auto& [flag, owner] : FlagOwners()) out.push_back(flag);
    return out;
  }();
  return flags;
}

std::vector<FieldError> Validate(const TrainingJob& job, const PodTemplatePolicy& policy) {
  Checker c;
  const std::string name = job.Name();
  if (name.size() > kMaxJobNameLength || !std::regex_match(name, kDns1035Label)) {
    c.Add("metadata.name",
          "must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter) of "
          "at most " +
              std::to_string(kMaxJobNameLength) + " characters, so <name>-worker-<index> is a valid hostname; got \"" +
              name + "\"");
  }
  const TrainingJobSpec& s = job.spec;
  c.OneOf("spec.mode", s.mode, {"Train", "Evaluate"});
  if (s.image.empty()) c.Add("spec.image", "required: the kubecnn image with kubecnn-trainer, mpirun and sshd");
  c.OneOf("spec.imagePullPolicy", s.image_pull_policy, {"Always", "IfNotPresent", "Never"});
  c.AtLeast("spec.workers", s.workers, int64_t{1});
  c.AtMost("spec.workers", s.workers, int64_t{10000});
  c.AtLeast("spec.slotsPerWorker", s.slots_per_worker, int64_t{1});
  c.AtMost("spec.slotsPerWorker", s.slots_per_worker, int64_t{128});
  if (!s.resources.is_null()) {
    for (const auto& [key, value] : s.resources.items()) {
      if (key != "limits" && key != "requests" && key != "claims") {
        c.Add("spec.resources." + key, "unknown; resources takes limits and requests (core/v1 ResourceRequirements)");
      } else if (key != "claims" && !value.is_object()) {
        c.Add("spec.resources." + key, "must be a map of resource name to quantity, e.g. {nvidia.com/gpu: 8}");
      }
    }
  }
  c.has_s3 = s.storage.s3.has_value();
  ValidateTrainer(s, c);
  ValidateStorage(s.storage, c);
  c.VolumeSource("spec.volumes.data", s.volumes.data);
  c.VolumeSource("spec.volumes.checkpoints", s.volumes.checkpoints);
  if (s.mode == "Evaluate" && s.volumes.checkpoints.is_object() && s.volumes.checkpoints.contains("emptyDir") &&
      !IsS3Url(s.trainer.log_dir)) {
    c.Add("spec.volumes.checkpoints",
          "an Evaluate job reads the checkpoint a training job wrote: set it to that job's checkpoint volume (a "
          "persistentVolumeClaim), not emptyDir, or set spec.trainer.logDir to that job's s3:// logDir");
  }
  for (const TemplateRefusal& r : CheckPodTemplate(s.pod_template.spec, policy)) c.Add(r.field, r.message);
  if (s.pod_template.spec.is_object()) {
    const json containers = s.pod_template.spec.value("containers", json::array());
    if (!containers.is_array()) {
      c.Add("spec.podTemplate.spec.containers", "must be a list of containers");
    } else {
      for (size_t i = 0; i < containers.size(); ++i) {
        if (!containers[i].is_object() || containers[i].value("name", "").empty()) {
          c.Add(
              "spec.podTemplate.spec.containers[" + std::to_string(i) + "].name",
              "required: name \"worker\" or \"launcher\" to add env/volumeMounts to ours, anything else for a sidecar");
        }
      }
    }
  }
  for (const auto* labels : {&s.pod_template.labels, &s.pod_template.annotations}) {
    if (labels->is_null()) continue;
    for (const auto& [key, value] : labels->items()) {
      if (!value.is_string()) {
        c.Add(std::string("spec.podTemplate.metadata.") +
                  (labels == &s.pod_template.labels ? "labels" : "annotations") + "." + key,
              "must be a string (quote numbers and booleans in YAML)");
      }
    }
  }
  c.AtLeast("spec.runPolicy.backoffLimit", s.run_policy.backoff_limit, int64_t{0});
  c.AtLeast("spec.runPolicy.activeDeadlineSeconds", s.run_policy.active_deadline_seconds, int64_t{1});
  c.AtLeast("spec.runPolicy.ttlSecondsAfterFinished", s.run_policy.ttl_seconds_after_finished, int64_t{0});
  c.OneOf("spec.runPolicy.cleanPodPolicy", s.run_policy.clean_pod_policy, {"All", "Running", "None"});
  c.OneOf("spec.scheduling.gang", s.scheduling.gang, {"None", "Volcano", "SchedulerPlugins"});
  c.AtLeast("spec.scheduling.scheduleTimeoutSeconds", s.scheduling.schedule_timeout_seconds, int64_t{1});
  if (s.scheduling.queue && s.scheduling.gang != "Volcano") {
    c.Add("spec.scheduling.queue", "is a Volcano queue; it needs spec.scheduling.gang: Volcano");
  }
  c.AtLeast("spec.evaluation.batchSize", s.evaluation.batch_size, int64_t{1});
  c.StoragePath("spec.evaluation.dataDir", s.evaluation.data_dir);
  c.StoragePath("spec.evaluation.checkpoint", s.evaluation.checkpoint);
  if (s.mode == "Evaluate" && s.evaluation.enabled.value_or(false)) {
    c.Add("spec.evaluation.enabled",
          "is for evaluating after training; an Evaluate job evaluates anyway: leave it out or set mode Train");
  }
  const bool evaluates = s.mode == "Evaluate" || s.evaluation.enabled.value_or(false);
  const std::optional<std::string> eval_data = s.evaluation.data_dir ? s.evaluation.data_dir : s.trainer.data_dir;
  if (evaluates && (!eval_data || eval_data->empty())) {
    c.Add("spec.evaluation.dataDir",
          "evaluation needs the validation shards: set spec.trainer.dataDir (or spec.evaluation.dataDir) to a path on "
          "spec.volumes.data or to s3://bucket/prefix with spec.storage.s3");
  }
  return c.errors;
}

std::string Describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const FieldError& e : errors) out += (out.empty() ? "" : "; ") + e.field + ": " + e.message;
  return out;
}

}  // namespace kubecnn::api

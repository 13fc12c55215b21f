// JSON <-> typed TrainingJob, with errors naming the field and what it should have been.
#include "operator/api/training_job.h"

#include <stdexcept>

namespace kubecnn::api {
namespace {

using nlohmann::json;

std::string Shown(const json& value) {
  std::string text = value.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

[[noreturn]] void TypeError(const std::string& path, const char* expected, const json& value) {
  throw std::invalid_argument(path + ": expected " + expected + ", got " + Shown(value) +
                              " (fix the field in the TrainingJob manifest)");
}

// A reader over one JSON object that remembers where it is, for error messages.
class Reader {
 public:
  Reader(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_null() && !object_.is_object()) TypeError(path_, "an object", object_);
  }
  bool Has(const char* key) const { return object_.is_object() && object_.contains(key) && !object_[key].is_null(); }
  const json& Raw(const char* key) const { return object_[key]; }
  std::string Path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  Reader Child(const char* key) const { return Reader(Has(key) ? object_[key] : Null(), Path(key)); }

  void Get(const char* key, std::optional<std::string>* out) const {
    if (!Has(key)) return;
    if (!Raw(key).is_string()) TypeError(Path(key), "a string", Raw(key));
    *out = Raw(key).get<std::string>();
  }
  void Get(const char* key, std::string* out) const {
    std::optional<std::string> v;
    Get(key, &v);
    if (v) *out = *v;
  }
  void Get(const char* key, std::optional<int64_t>* out) const {
    if (!Has(key)) return;
    const json& v = Raw(key);
    if (v.is_number_integer()) {
      *out = v.get<int64_t>();
    } else if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))) {
      *out = static_cast<int64_t>(v.get<double>());  // 4.0 from a YAML float is still 4
    } else {
      TypeError(Path(key), "an integer", v);
    }
  }
  void Get(const char* key, int64_t* out) const {
    std::optional<int64_t> v;
    Get(key, &v);
    if (v) *out = *v;
  }
  void Get(const char* key, std::optional<double>* out) const {
    if (!Has(key)) return;
    if (!Raw(key).is_number()) TypeError(Path(key), "a number", Raw(key));
    *out = Raw(key).get<double>();
  }
  void Get(const char* key, std::optional<bool>* out) const {
    if (!Has(key)) return;
    if (!Raw(key).is_boolean()) TypeError(Path(key), "true or false", Raw(key));
    *out = Raw(key).get<bool>();
  }
  // int-or-string: 128 and "128" both read as "128".
  void GetIntOrString(const char* key, std::optional<std::string>* out) const {
    if (!Has(key)) return;
    const json& v = Raw(key);
    if (v.is_string()) {
      *out = v.get<std::string>();
    } else if (v.is_number_integer()) {
      *out = std::to_string(v.get<int64_t>());
    } else {
      TypeError(Path(key), "an integer or a string", v);
    }
  }
  void GetStrings(const char* key, std::vector<std::string>* out) const {
    if (!Has(key)) return;
    const json& v = Raw(key);
    if (!v.is_array()) TypeError(Path(key), "a list of strings", v);
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) TypeError(Path(key) + "[" + std::to_string(i) + "]", "a string", v[i]);
      out->push_back(v[i].get<std::string>());
    }
  }
  // Pass-through Kubernetes objects: must be objects when present.
  void GetObject(const char* key, json* out) const {
    if (!Has(key)) return;
    if (!Raw(key).is_object()) TypeError(Path(key), "an object", Raw(key));
    *out = Raw(key);
  }

 private:
  static const json& Null() {
    static const json null;
    return null;
  }
  const json& object_;  // outlives the reader: the caller's document or Null()
  std::string path_;
};

template <class T>
void Put(json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

LarcSpec LarcFromJson(const Reader& r) {
  LarcSpec l;
  r.Get("mode", &l.mode);
  r.Get("eta", &l.eta);
  return l;
}

TrainerSpec TrainerFromJson(const Reader& r) {
  TrainerSpec t;
  r.Get("model", &t.model);
  r.Get("dataDir", &t.data_dir);
  r.Get("logDir", &t.log_dir);
  r.Get("batchSize", &t.batch_size);
  r.Get("numEpochs", &t.num_epochs);
  r.Get("numBatches", &t.num_batches);
  r.Get("numClasses", &t.num_classes);
  r.Get("precision", &t.precision);
  r.Get("learningRate", &t.learning_rate);
  r.Get("lrSchedule", &t.lr_schedule);
  r.Get("optimizer", &t.optimizer);
  r.Get("momentum", &t.momentum);
  r.Get("nesterov", &t.nesterov);
  r.Get("weightDecay", &t.weight_decay);
  r.Get("labelSmoothing", &t.label_smoothing);
  if (r.Has("larc")) t.larc = LarcFromJson(r.Child("larc"));
  r.GetIntOrString("lossScale", &t.loss_scale);
  r.Get("displayEvery", &t.display_every);
  r.Get("saveIntervalSeconds", &t.save_interval_seconds);
  r.Get("numDataThreads", &t.num_data_threads);
  r.GetStrings("extraArgs", &t.extra_args);
  return t;
}

json TrainerToJson(const TrainerSpec& t) {
  json out = json::object();
  out["model"] = t.model;
  Put(out, "dataDir", t.data_dir);
  Put(out, "logDir", t.log_dir);
  Put(out, "batchSize", t.batch_size);
  Put(out, "numEpochs", t.num_epochs);
  Put(out, "numBatches", t.num_batches);
  Put(out, "numClasses", t.num_classes);
  Put(out, "precision", t.precision);
  Put(out, "learningRate", t.learning_rate);
  Put(out, "lrSchedule", t.lr_schedule);
  Put(out, "optimizer", t.optimizer);
  Put(out, "momentum", t.momentum);
  Put(out, "nesterov", t.nesterov);
  Put(out, "weightDecay", t.weight_decay);
  Put(out, "labelSmoothing", t.label_smoothing);
  if (t.larc) {
    json larc = json::object();
    Put(larc, "mode", t.larc->mode);
    Put(larc, "eta", t.larc->eta);
    out["larc"] = larc;
  }
  Put(out, "lossScale", t.loss_scale);
  Put(out, "displayEvery", t.display_every);
  Put(out, "saveIntervalSeconds", t.save_interval_seconds);
  Put(out, "numDataThreads", t.num_data_threads);
  if (!t.extra_args.empty()) out["extraArgs"] = t.extra_args;
  return out;
}

StorageSpec StorageFromJson(const Reader& r) {
  StorageSpec storage;
  if (!r.Has("s3")) return storage;
  const Reader s3 = r.Child("s3");
  S3StorageSpec out;
  s3.Get("endpoint", &out.endpoint);
  s3.Get("region", &out.region);
  s3.Get("credentialsSecret", &out.credentials_secret);
  if (s3.Has("caBundle")) {
    const Reader ca = s3.Child("caBundle");
    CaBundleRef ref;
    ca.Get("configMap", &ref.config_map);
    ca.Get("key", &ref.key);
    out.ca_bundle = ref;
  }
  storage.s3 = out;
  return storage;
}

json StorageToJson(const StorageSpec& storage) {
  json out = json::object();
  if (!storage.s3) return out;
  const S3StorageSpec& s3 = *storage.s3;
  json s3_json = json::object();
  Put(s3_json, "endpoint", s3.endpoint);
  Put(s3_json, "region", s3.region);
  if (!s3.credentials_secret.empty()) s3_json["credentialsSecret"] = s3.credentials_secret;
  if (s3.ca_bundle) {
    json ca = json::object();
    if (!s3.ca_bundle->config_map.empty()) ca["configMap"] = s3.ca_bundle->config_map;
    Put(ca, "key", s3.ca_bundle->key);
    s3_json["caBundle"] = ca;
  }
  out["s3"] = s3_json;
  return out;
}

Progress ProgressFromJson(const Reader& r) {
  Progress p;
  r.Get("epoch", &p.epoch);
  r.Get("step", &p.step);
  r.Get("totalSteps", &p.total_steps);
  r.Get("imagesPerSecond", &p.images_per_second);
  r.Get("loss", &p.loss);
  r.Get("learningRate", &p.learning_rate);
  r.Get("lastCheckpoint", &p.last_checkpoint);
  r.Get("updatedAt", &p.updated_at);
  return p;
}

EvaluationResult EvaluationResultFromJson(const Reader& r) {
  EvaluationResult e;
  r.Get("top1", &e.top1);
  r.Get("top5", &e.top5);
  r.Get("images", &e.images);
  r.Get("step", &e.step);
  r.Get("checkpoint", &e.checkpoint);
  r.Get("completedAt", &e.completed_at);
  return e;
}

}  // namespace

std::string JobMeta::Name() const { return metadata.is_object() ? metadata.value("name", "") : ""; }
std::string JobMeta::Namespace() const { return metadata.is_object() ? metadata.value("namespace", "") : ""; }
std::string JobMeta::Uid() const { return metadata.is_object() ? metadata.value("uid", "") : ""; }
int64_t JobMeta::Generation() const {
  return metadata.is_object() && metadata.contains("generation") && metadata["generation"].is_number_integer()
             ? metadata["generation"].get<int64_t>()
             : 0;
}

TrainingJobSpec SpecFromJson(const json& object) {
  const Reader r(object, "spec");
  TrainingJobSpec s;
  r.Get("mode", &s.mode);
  r.Get("image", &s.image);
  r.Get("imagePullPolicy", &s.image_pull_policy);
  r.Get("workers", &s.workers);
  r.Get("slotsPerWorker", &s.slots_per_worker);
  r.GetObject("resources", &s.resources);
  s.trainer = TrainerFromJson(r.Child("trainer"));
  const Reader volumes = r.Child("volumes");
  volumes.GetObject("data", &s.volumes.data);
  volumes.GetObject("checkpoints", &s.volumes.checkpoints);
  s.storage = StorageFromJson(r.Child("storage"));
  const Reader pod_template = r.Child("podTemplate");
  const Reader pod_meta = pod_template.Child("metadata");
  pod_meta.GetObject("labels", &s.pod_template.labels);
  pod_meta.GetObject("annotations", &s.pod_template.annotations);
  pod_template.GetObject("spec", &s.pod_template.spec);
  const Reader run = r.Child("runPolicy");
  run.Get("backoffLimit", &s.run_policy.backoff_limit);
  run.Get("activeDeadlineSeconds", &s.run_policy.active_deadline_seconds);
  run.Get("ttlSecondsAfterFinished", &s.run_policy.ttl_seconds_after_finished);
  run.Get("cleanPodPolicy", &s.run_policy.clean_pod_policy);
  run.Get("suspend", &s.run_policy.suspend);
  const Reader sched = r.Child("scheduling");
  sched.Get("gang", &s.scheduling.gang);
  sched.Get("schedulerName", &s.scheduling.scheduler_name);
  sched.Get("queue", &s.scheduling.queue);
  sched.Get("priorityClassName", &s.scheduling.priority_class_name);
  sched.Get("scheduleTimeoutSeconds", &s.scheduling.schedule_timeout_seconds);
  const Reader eval = r.Child("evaluation");
  eval.Get("enabled", &s.evaluation.enabled);
  eval.Get("batchSize", &s.evaluation.batch_size);
  eval.Get("dataDir", &s.evaluation.data_dir);
  eval.Get("checkpoint", &s.evaluation.checkpoint);
  return s;
}

json SpecToJson(const TrainingJobSpec& s) {
  json out = json::object();
  Put(out, "mode", s.mode);
  out["image"] = s.image;
  Put(out, "imagePullPolicy", s.image_pull_policy);
  Put(out, "workers", s.workers);
  Put(out, "slotsPerWorker", s.slots_per_worker);
  if (!s.resources.is_null()) out["resources"] = s.resources;
  out["trainer"] = TrainerToJson(s.trainer);
  json volumes = json::object();
  if (!s.volumes.data.is_null()) volumes["data"] = s.volumes.data;
  if (!s.volumes.checkpoints.is_null()) volumes["checkpoints"] = s.volumes.checkpoints;
  if (!volumes.empty()) out["volumes"] = volumes;
  const json storage = StorageToJson(s.storage);
  if (!storage.empty()) out["storage"] = storage;
  json pod_template = json::object();
  if (!s.pod_template.labels.is_null()) pod_template["metadata"]["labels"] = s.pod_template.labels;
  if (!s.pod_template.annotations.is_null()) pod_template["metadata"]["annotations"] = s.pod_template.annotations;
  if (!s.pod_template.spec.is_null()) pod_template["spec"] = s.pod_template.spec;
  if (!pod_template.empty()) out["podTemplate"] = pod_template;
  json run = json::object();
  Put(run, "backoffLimit", s.run_policy.backoff_limit);
  Put(run, "activeDeadlineSeconds", s.run_policy.active_deadline_seconds);
  Put(run, "ttlSecondsAfterFinished", s.run_policy.ttl_seconds_after_finished);
  Put(run, "cleanPodPolicy", s.run_policy.clean_pod_policy);
  Put(run, "suspend", s.run_policy.suspend);
  if (!run.empty()) out["runPolicy"] = run;
  json sched = json::object();
  Put(sched, "gang", s.scheduling.gang);
  Put(sched, "schedulerName", s.scheduling.scheduler_name);
  Put(sched, "queue", s.scheduling.queue);
  Put(sched, "priorityClassName", s.scheduling.priority_class_name);
  Put(sched, "scheduleTimeoutSeconds", s.scheduling.schedule_timeout_seconds);
  if (!sched.empty()) out["scheduling"] = sched;
  json eval = json::object();
  Put(eval, "enabled", s.evaluation.enabled);
  Put(eval, "batchSize", s.evaluation.batch_size);
  Put(eval, "dataDir", s.evaluation.data_dir);
  Put(eval, "checkpoint", s.evaluation.checkpoint);
  if (!eval.empty()) out["evaluation"] = eval;
  return out;
}

TrainingJobStatus StatusFromJson(const json& object) {
  const Reader r(object, "status");
  TrainingJobStatus s;
  r.Get("phase", &s.phase);
  if (r.Has("conditions")) {
    const json& list = r.Raw("conditions");
    if (!list.is_array()) TypeError("status.conditions", "a list", list);
    for (size_t i = 0; i < list.size(); ++i) {
      const Reader c(list[i], "status.conditions[" + std::to_string(i) + "]");
      Condition condition;
      c.Get("type", &condition.type);
      c.Get("status", &condition.status);
      c.Get("reason", &condition.reason);
      c.Get("message", &condition.message);
      c.Get("lastTransitionTime", &condition.last_transition_time);
      c.Get("lastUpdateTime", &condition.last_update_time);
      s.conditions.push_back(condition);
    }
  }
  r.Get("observedGeneration", &s.observed_generation);
  r.Get("startTime", &s.start_time);
  r.Get("completionTime", &s.completion_time);
  r.Get("trainingCompletionTime", &s.training_completion_time);
  r.Get("attempt", &s.attempt);
  r.Get("restarts", &s.restarts);
  r.Get("admissionRetries", &s.admission_retries);
  r.Get("retryAfter", &s.retry_after);
  const Reader w = r.Child("workers");
  w.Get("desired", &s.workers.desired);
  w.Get("scheduled", &s.workers.scheduled);
  w.Get("ready", &s.workers.ready);
  w.Get("failed", &s.workers.failed);
  if (r.Has("progress")) s.progress = ProgressFromJson(r.Child("progress"));
  if (r.Has("evaluation")) s.evaluation = EvaluationResultFromJson(r.Child("evaluation"));
  return s;
}

json StatusToJson(const TrainingJobStatus& s) {
  json out = json::object();
  if (!s.phase.empty()) out["phase"] = s.phase;
  if (!s.conditions.empty()) {
    out["conditions"] = json::array();
    for (const Condition& c : s.conditions) {
      json cj = {{"type", c.type}, {"status", c.status}};
      if (!c.reason.empty()) cj["reason"] = c.reason;
      if (!c.message.empty()) cj["message"] = c.message;
      if (!c.last_transition_time.empty()) cj["lastTransitionTime"] = c.last_transition_time;
      if (!c.last_update_time.empty()) cj["lastUpdateTime"] = c.last_update_time;
      out["conditions"].push_back(cj);
    }
  }
  Put(out, "observedGeneration", s.observed_generation);
  Put(out, "startTime", s.start_time);
  Put(out, "completionTime", s.completion_time);
  Put(out, "trainingCompletionTime", s.training_completion_time);
  if (s.attempt) out["attempt"] = s.attempt;
  out["restarts"] = s.restarts;
  if (s.admission_retries) out["admissionRetries"] = s.admission_retries;
  Put(out, "retryAfter", s.retry_after);
  out["workers"] = {{"desired", s.workers.desired},
                    {"scheduled", s.workers.scheduled},
                    {"ready", s.workers.ready},
                    {"failed", s.workers.failed}};
  if (s.progress) {
    json p = json::object();
    Put(p, "epoch", s.progress->epoch);
    Put(p, "step", s.progress->step);
    Put(p, "totalSteps", s.progress->total_steps);
    Put(p, "imagesPerSecond", s.progress->images_per_second);
    Put(p, "loss", s.progress->loss);
    Put(p, "learningRate", s.progress->learning_rate);
    Put(p, "lastCheckpoint", s.progress->last_checkpoint);
    Put(p, "updatedAt", s.progress->updated_at);
    out["progress"] = p;
  }
  if (s.evaluation) {
    json e = json::object();
    Put(e, "top1", s.evaluation->top1);
    Put(e, "top5", s.evaluation->top5);
    Put(e, "images", s.evaluation->images);
    Put(e, "step", s.evaluation->step);
    Put(e, "checkpoint", s.evaluation->checkpoint);
    Put(e, "completedAt", s.evaluation->completed_at);
    out["evaluation"] = e;
  }
  return out;
}

TrainingJob TrainingJobFromJson(const json& object) {
  if (!object.is_object()) TypeError("TrainingJob", "an object", object);
  TrainingJob job;
  job.metadata = object.value("metadata", json::object());
  job.spec = SpecFromJson(object.value("spec", json::object()));
  job.status = StatusFromJson(object.value("status", json::object()));
  return job;
}

json ToJson(const TrainingJob& job) {
  return {{"apiVersion", kApiVersion},
          {"kind", kKind},
          {"metadata", job.metadata},
          {"spec", SpecToJson(job.spec)},
          {"status", StatusToJson(job.status)}};
}

}  // namespace kubecnn::api

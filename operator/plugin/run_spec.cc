// Command line -> TrainingJob: trainer flags into typed spec.trainer fields (the rest into
// extraArgs), ranks into workers x slots, --data/--checkpoints into volumes or s3:// paths.
#include "operator/plugin/run_spec.h"

#include <map>
#include <set>

#include "operator/api/defaults.h"
#include "operator/api/training_job.h"
#include "operator/api/validation.h"
#include "operator/plugin/trainer_command.h"
#include "trainer/cli/train_flags.h"

namespace kubecnn::plugin {
namespace {

bool IsS3(const std::string& path) { return path.rfind("s3://", 0) == 0; }

bool IsUnder(const std::string& path, const std::string& dir) { return path == dir || path.rfind(dir + "/", 0) == 0; }

// Flags that become typed spec.trainer fields (or the job's mode), not extraArgs.
const std::set<std::string>& TypedFlags() {
  static const std::set<std::string> names = {
      "model",       "data_dir",      "log_dir",       "batch_size",       "num_epochs",  "num_batches",
      "num_classes", "fp16",          "bf16",          "learning_rate",    "lr_schedule", "optimizer",
      "momentum",    "nesterov",      "weight_decay",  "label_smoothing",  "larc_mode",   "larc_eta",
      "loss_scale",  "display_every", "save_interval", "num_data_threads", "eval",        "checkpoint"};
  return names;
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// Where the data lives: a claim mounted at /data, an s3:// prefix, or the command line's --data_dir.
void PlaceData(const RunOptions& o, const cli::TrainFlags& t, bool data_dir_set, api::TrainingJobSpec& spec) {
  const std::string& given = t.data.data_dir;
  if (IsS3(o.data)) {
    if (data_dir_set && given != o.data) {
      throw UsageError("--data=" + o.data + " and --data_dir=" + given + " both say where the data is: keep one");
    }
    spec.trainer.data_dir = o.data;
  } else if (!o.data.empty()) {
    spec.volumes.data = {{"persistentVolumeClaim", {{"claimName", o.data}, {"readOnly", true}}}};
    if (data_dir_set) {
      if (!IsUnder(given, api::kDataMountPath)) {
        throw UsageError("--data_dir=" + given + " is not under " + api::kDataMountPath + ", where --data=" + o.data +
                         " is mounted: pass --data_dir=" + api::kDataMountPath + "/<folder in the claim>");
      }
      spec.trainer.data_dir = given;
    }
  } else if (data_dir_set && !given.empty()) {
    if (!IsS3(given)) {
      throw UsageError("--data_dir=" + given +
                       " is a path on this machine: pass --data=CLAIM (a PersistentVolumeClaim "
                       "holding the shards, mounted at /data) or --data=s3://bucket/prefix");
    }
    spec.trainer.data_dir = given;
  }
}

// Where checkpoints go: a claim mounted at /checkpoints (logDir /checkpoints/<job> unless --log_dir
// names a folder there), an s3:// prefix, or an emptyDir that goes with the pods.
void PlaceCheckpoints(const RunOptions& o, const cli::TrainFlags& t, bool log_dir_set, api::TrainingJobSpec& spec,
                      std::vector<std::string>& warnings) {
  const std::string& given = t.log_dir;
  if (IsS3(o.checkpoints)) {
    if (log_dir_set && given != o.checkpoints) {
      throw UsageError("--checkpoints=" + o.checkpoints + " and --log_dir=" + given +
                       " both say where checkpoints go: keep one");
    }
    spec.trainer.log_dir = o.checkpoints;
  } else if (!o.checkpoints.empty()) {
    spec.volumes.checkpoints = {{"persistentVolumeClaim", {{"claimName", o.checkpoints}}}};
    if (log_dir_set && !IsUnder(given, api::kCheckpointMountPath)) {
      throw UsageError("--log_dir=" + given + " is not under " + api::kCheckpointMountPath + ", where --checkpoints=" +
                       o.checkpoints + " is mounted: pass --log_dir=" + api::kCheckpointMountPath +
                       "/<folder>, or leave it out for " + api::kCheckpointMountPath + "/" + o.name);
    }
    spec.trainer.log_dir = log_dir_set ? given : std::string(api::kCheckpointMountPath) + "/" + o.name;
  } else if (log_dir_set && IsS3(given)) {
    spec.trainer.log_dir = given;
  } else if (log_dir_set && !given.empty()) {
    throw UsageError("--log_dir=" + given +
                     " is a path on this machine: pass --checkpoints=CLAIM (a "
                     "PersistentVolumeClaim every worker mounts at /checkpoints) or --checkpoints=s3://bucket/prefix");
  } else {
    warnings.push_back(
        "no --checkpoints: checkpoints stay in the pods' emptyDir and are gone when the job ends, so "
        "a gang restart starts over and `kubectl kubecnn eval` has nothing to read (pass "
        "--checkpoints=CLAIM)");
  }
}

// workers x slots from --workers, --gpus-per-worker/--slots and mpiexec -np.
void PlaceRanks(const RunOptions& o, std::optional<int64_t> ranks, api::TrainingJobSpec& spec) {
  if (o.gpus_per_worker && o.slots) {
    throw UsageError("--gpus-per-worker and --slots both set the ranks per worker: keep one");
  }
  const auto positive = [](const char* flag, const std::optional<int64_t>& v) {
    if (v && *v < 1) throw UsageError(std::string(flag) + " must be at least 1, got " + std::to_string(*v));
  };
  positive("--workers", o.workers);
  positive("--gpus-per-worker", o.gpus_per_worker);
  positive("--slots", o.slots);
  std::optional<int64_t> workers = o.workers;
  std::optional<int64_t> slots = o.gpus_per_worker ? o.gpus_per_worker : o.slots;
  const char* slots_flag = o.gpus_per_worker ? "--gpus-per-worker" : "--slots";
  if (ranks) {
    const std::string np = "-np " + std::to_string(*ranks);
    if (workers && slots && *workers * *slots != *ranks) {
      throw UsageError(np + " does not match --workers=" + std::to_string(*workers) + " x " + slots_flag + "=" +
                       std::to_string(*slots) + " = " + std::to_string(*workers * *slots) + " ranks");
    }
    if (workers && !slots) {
      if (*ranks % *workers != 0) {
        throw UsageError(np + " ranks do not split evenly over --workers=" + std::to_string(*workers));
      }
      slots = *ranks / *workers;
    } else if (slots && !workers) {
      if (*ranks % *slots != 0) {
        throw UsageError(np + " ranks are not a multiple of " + std::string(slots_flag) + "=" + std::to_string(*slots));
      }
      workers = *ranks / *slots;
    } else if (!workers && !slots) {
      workers = 1;  // one machine ran them all
      slots = *ranks;
    }
  }
  spec.workers = workers.value_or(api::kDefaultWorkers);
  spec.slots_per_worker = slots.value_or(api::kDefaultSlotsPerWorker);
  if (o.gpus_per_worker) spec.resources = {{"limits", {{"nvidia.com/gpu", *o.gpus_per_worker}}}};
}

}  // namespace

RunPlan BuildRun(const RunOptions& o) {
  RunPlan plan;
  if (o.image.empty()) {
    throw UsageError(
        "--image is required: the trainer image the pods run (with kubecnn-trainer, mpirun and sshd), "
        "e.g. --image=kubecnn/trainer:latest");
  }
  const TrainerCommand command = ParseTrainerCommand(o.command);

  // The trainer's own parser and checks: what it would refuse is refused here, in its words.
  FlagSet flags("kubecnn-trainer train");
  cli::TrainFlags t;
  AddTrainFlags(flags, t);
  std::vector<std::string> positional;
  try {
    positional = flags.Parse(command.trainer_args);
    if (flags.help_requested()) throw UsageError("--help is not a training run");
    if (!positional.empty()) throw UsageError("unexpected argument '" + positional[0] + "'");
    ValidateTrainFlags(flags, t);
  } catch (const UsageError& e) {
    throw UsageError("kubecnn-trainer would refuse this command line: " + std::string(e.what()));
  }
  if (flags.WasSet("metrics_port")) {
    throw UsageError(
        "--metrics_port is set by the operator (it reads rank 0's metrics for the job's progress): "
        "leave it out");
  }

  api::TrainingJobSpec spec;
  spec.image = o.image;
  PlaceRanks(o, command.ranks, spec);
  api::TrainerSpec& s = spec.trainer;
  s.model = t.model;
  PlaceData(o, t, flags.WasSet("data_dir"), spec);
  PlaceCheckpoints(o, t, flags.WasSet("log_dir"), spec, plan.warnings);
  const auto set = [&](const char* name) { return flags.WasSet(name); };
  if (set("batch_size")) s.batch_size = t.data.batch_size;
  if (set("num_epochs")) s.num_epochs = t.num_epochs;
  if (set("num_batches")) s.num_batches = t.num_batches;
  if (set("num_classes")) s.num_classes = t.num_classes;
  if (t.fp16) s.precision = "fp16";
  if (t.bf16) s.precision = "bf16";
  if (set("learning_rate")) s.learning_rate = t.learning_rate;
  if (set("lr_schedule")) s.lr_schedule = t.lr_schedule;
  if (set("optimizer")) s.optimizer = t.optimizer;
  if (set("momentum")) s.momentum = t.momentum;
  if (set("nesterov")) s.nesterov = t.nesterov;
  if (set("weight_decay")) s.weight_decay = t.weight_decay;
  if (set("label_smoothing")) s.label_smoothing = t.label_smoothing;
  if (set("larc_mode") || set("larc_eta")) {
    s.larc = api::LarcSpec{};
    if (set("larc_mode")) s.larc->mode = t.larc_mode;
    if (set("larc_eta")) s.larc->eta = t.larc_eta;
  }
  if (set("loss_scale")) s.loss_scale = t.loss_scale;
  if (set("display_every")) s.display_every = t.display_every;
  if (set("save_interval")) s.save_interval_seconds = t.save_interval;
  if (set("num_data_threads")) s.num_data_threads = t.data.num_threads;
  for (const auto& [name, value] : flags.assignments()) {
    if (TypedFlags().count(name)) continue;
    // A bare --flag / --noflag is written back as one; the trainer's parser reads both forms.
    if (value == "true" && std::find(command.trainer_args.begin(), command.trainer_args.end(), "--" + name) !=
                               command.trainer_args.end()) {
      s.extra_args.push_back("--" + name);
    } else if (value == "false" && std::find(command.trainer_args.begin(), command.trainer_args.end(), "--no" + name) !=
                                       command.trainer_args.end()) {
      s.extra_args.push_back("--no" + name);
    } else {
      s.extra_args.push_back("--" + name + "=" + value);
    }
  }
  if (t.eval) {
    if (o.evaluate) {
      throw UsageError("--evaluate evaluates after training, but the command line's --eval only evaluates: keep one");
    }
    spec.mode = "Evaluate";
    if (set("checkpoint")) spec.evaluation.checkpoint = t.checkpoint;
  } else if (o.evaluate) {
    spec.evaluation.enabled = true;
  }
  if (!o.gang.empty()) spec.scheduling.gang = o.gang;
  const bool uses_s3 = IsS3(s.data_dir.value_or("")) || IsS3(s.log_dir.value_or(""));
  if (!o.s3_credentials.empty()) {
    spec.storage.s3 = api::S3StorageSpec{};
    spec.storage.s3->credentials_secret = o.s3_credentials;
    if (!o.s3_endpoint.empty()) spec.storage.s3->endpoint = o.s3_endpoint;
    if (!o.s3_region.empty()) spec.storage.s3->region = o.s3_region;
  } else if (uses_s3) {
    throw UsageError(
        "s3:// paths need --s3-credentials=SECRET (a Secret of the namespace holding "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), and --s3-endpoint for a store other than AWS S3");
  } else if (!o.s3_endpoint.empty() || !o.s3_region.empty()) {
    throw UsageError("--s3-endpoint and --s3-region go with --s3-credentials");
  }

  api::TrainingJob job;
  job.metadata = {{"name", o.name}};
  if (!o.ns.empty()) job.metadata["namespace"] = o.ns;
  job.metadata["annotations"] = {{kCommandLineAnnotation, Joined(o.command)}};
  job.spec = spec;
  api::TrainingJob defaulted = job;
  defaulted.spec = api::WithDefaults(job.spec);
  const std::vector<api::FieldError> errors = api::Validate(defaulted);
  if (!errors.empty()) throw UsageError("the operator would refuse this TrainingJob: " + api::Describe(errors));
  plan.job = api::ToJson(job);
  plan.job["apiVersion"] = api::kApiVersion;
  plan.job["kind"] = api::kKind;
  plan.job.erase("status");
  return plan;
}

}  // namespace kubecnn::plugin

// `kubectl kubecnn eval NAME [--checkpoint STEP]`: an Evaluate job from a finished one, followed
// until it reports top-1/top-5.
#include <cstdio>
#include <ostream>

#include "operator/api/defaults.h"
#include "operator/api/training_job.h"
#include "operator/api/validation.h"
#include "operator/kube/api_error.h"
#include "operator/kube/resource.h"
#include "operator/plugin/commands.h"
#include "operator/plugin/follow.h"
#include "operator/plugin/job_view.h"
#include "operator/plugin/run_spec.h"

namespace kubecnn::plugin {

const CommandHelp& EvalHelp() {
  static const CommandHelp help{
      "eval",
      "evaluate a finished job's checkpoint and wait for top-1/top-5",
      "Create an Evaluate TrainingJob from a finished one (same image, data, checkpoints, model and gang size) and\n"
      "follow it until it reports top-1/top-5. By default the newest checkpoint is evaluated; --checkpoint picks the\n"
      "one written at a step. Exits 0 when the evaluation succeeds, 1 when it fails.",
      "  kubectl kubecnn eval resnet50\n"
      "  kubectl kubecnn eval resnet50 --checkpoint 56295",
      {{"--checkpoint=STEP", "evaluate the checkpoint of this step (model.ckpt-STEP.pt in the job's logDir)"},
       {"--name=NAME", "the evaluation job's name (default NAME-eval, or NAME-eval-STEP)"}},
      "kubectl kubecnn eval NAME [--checkpoint STEP]"};
  return help;
}

// The checkpoint file the trainer writes at `step` (trainer/checkpoint/checkpoint_files.h).
std::string CheckpointPath(const std::string& log_dir, int64_t step) {
  char file[64];
  std::snprintf(file, sizeof(file), "model.ckpt-%09lld.pt", static_cast<long long>(step));
  return log_dir + "/" + file;
}

nlohmann::json EvaluationJob(const nlohmann::json& trained, const std::string& name, std::optional<int64_t> step) {
  const api::TrainingJob source = api::TrainingJobFromJson(trained);
  api::TrainingJob job;
  job.metadata = {
      {"name", name}, {"namespace", source.Namespace()}, {"labels", {{"kubecnn.io/evaluates", source.Name()}}}};
  job.spec = source.spec;
  job.spec.mode = "Evaluate";
  job.spec.evaluation.enabled.reset();
  job.spec.run_policy.suspend.reset();
  // The trained job's logDir as the operator resolved it, so both read the same folder.
  job.spec.trainer.log_dir = api::WithDefaults(source.spec).trainer.log_dir;
  if (step) job.spec.evaluation.checkpoint = CheckpointPath(job.spec.trainer.log_dir.value_or(""), *step);
  api::TrainingJob defaulted = job;
  defaulted.spec = api::WithDefaults(job.spec);
  const std::vector<api::FieldError> errors = api::Validate(defaulted);
  if (!errors.empty()) {
    throw std::runtime_error("cannot evaluate trainingjob \"" + source.Name() + "\": " + api::Describe(errors));
  }
  nlohmann::json out = api::ToJson(job);
  out.erase("status");
  return out;
}

int EvalCommand(const std::vector<std::string>& args, Terminal& terminal) {
  const CommandHelp& help = EvalHelp();
  FlagSet flags("kubectl kubecnn eval");
  int64_t step = -1;
  std::string eval_name;
  flags.Add("checkpoint", &step, "");
  flags.Add("name", &eval_name, "");
  GlobalFlags globals;
  std::vector<std::string> positional;
  if (!ParseCommand(help, flags, globals, args, terminal, positional)) return 0;
  const std::string name = OneName(help, positional);
  std::optional<int64_t> wanted;
  if (flags.WasSet("checkpoint")) {
    if (step < 0) throw UsageError("--checkpoint must be a step (a non-negative integer)");
    wanted = step;
  }
  if (eval_name.empty()) eval_name = name + "-eval" + (wanted ? "-" + std::to_string(*wanted) : "");
  Session session(globals, terminal);
  kube::Client& client = session.client();
  const std::string ns = session.Namespace();
  const nlohmann::json trained = client.Get(kube::resources::kTrainingJobs, ns, name);
  const api::TrainingJob source = api::TrainingJobFromJson(trained);
  if (source.spec.mode.value_or("Train") == "Evaluate") {
    throw std::runtime_error("trainingjob \"" + name + "\" is itself an evaluation: evaluate the job that trained");
  }
  if (source.status.phase != "Succeeded" && !source.status.training_completion_time) {
    if (!wanted || !IsFinished(source)) {
      throw std::runtime_error("trainingjob \"" + name + "\" has not finished training (phase " +
                               (source.status.phase.empty() ? "Pending" : source.status.phase) +
                               "): wait with kubectl kubecnn watch " + name +
                               ", or pick a checkpoint of a failed job with --checkpoint STEP");
    }
  }
  try {
    client.Create(kube::resources::kTrainingJobs, ns, EvaluationJob(trained, eval_name, wanted));
  } catch (const kube::ApiError& e) {
    if (!kube::IsAlreadyExists(e)) throw;
    throw std::runtime_error("trainingjob \"" + eval_name +
                             "\" already exists: see its result with kubectl kubecnn watch " + eval_name +
                             ", or pick another name with --name");
  }
  terminal.err << "trainingjob.kubecnn.io/" << eval_name << " created: evaluating "
               << (wanted ? "the checkpoint of step " + std::to_string(*wanted) : std::string("the newest checkpoint"))
               << " of " << name << "\n";
  const api::TrainingJob done = FollowJob(client, terminal, ns, eval_name);
  return ExitCodeOf(done);
}

}  // namespace kubecnn::plugin

// `kubectl kubecnn run NAME [options] -- COMMAND LINE`: create the TrainingJob, or print it.
#include <algorithm>
#include <ostream>

#include "operator/kube/resource.h"
#include "operator/plugin/commands.h"
#include "operator/plugin/run_spec.h"
#include "operator/plugin/yaml_output.h"

namespace kubecnn::plugin {

const CommandHelp& RunHelp() {
  static const CommandHelp help{
      "run",
      "run a training command line on the cluster as a TrainingJob",
      "Turn a command line that works on one machine (kubecnn-trainer's flags, or mpiexec -np N python nvcnn_hvd.py\n"
      "...) into a TrainingJob and create it. The trainer flags with a TrainingJob field go into spec.trainer, the\n"
      "rest into spec.trainer.extraArgs; a command line kubecnn-trainer or the operator would refuse is refused here,\n"
      "before anything is created. mpiexec's -np becomes workers x ranks per worker.",
      "  # The seed's ResNet-50 run on 4 nodes of 8 GPUs, shards and checkpoints on two claims\n"
      "  kubectl kubecnn run resnet50 --image=kubecnn/trainer:latest --gpus-per-worker=8 --data=imagenet-tfrecords \\\n"
      "    --checkpoints=kubecnn-checkpoints --evaluate -- mpiexec -np 32 python nvcnn_hvd.py --model=resnet50 \\\n"
      "    --data_dir=/data/imagenet --batch_size=256 --fp16 --larc_mode=clip --larc_eta=0.003 --loss_scale=128 \\\n"
      "    --num_epochs=90 --display_every=100 --learning_rate=2.0\n\n"
      "  # Print the object instead of creating it\n"
      "  kubectl kubecnn run tiny --image=kubecnn/trainer:latest --dry-run=client -o yaml -- --model=tiny "
      "--num_batches=100",
      {{"--image=IMAGE", "the trainer image (kubecnn-trainer, mpirun and sshd); required"},
       {"--workers=N", "worker pods (default: from -np and the ranks per worker, else 1)"},
       {"--gpus-per-worker=N", "ranks per worker, each with a GPU (nvidia.com/gpu limit of N per pod)"},
       {"--slots=N", "ranks per worker without GPUs (CPU training)"},
       {"--data=CLAIM|s3://BUCKET/PREFIX",
        "the TFRecord shards: a PersistentVolumeClaim mounted at /data, or a prefix"},
       {"--checkpoints=CLAIM|s3://BUCKET/PREFIX",
        "where checkpoints go: a claim mounted at /checkpoints (logDir /checkpoints/NAME unless --log_dir says), "
        "or a prefix"},
       {"--s3-credentials=SECRET", "Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for s3:// paths"},
       {"--s3-endpoint=URL", "the object store's endpoint, for a store other than AWS S3"},
       {"--s3-region=REGION", "the object store's region"},
       {"--evaluate", "evaluate the final checkpoint after training (top-1/top-5 in the job's status)"},
       {"--gang=None|Volcano|SchedulerPlugins",
        "gang scheduler for the workers (default None: the operator's "
        "all-or-nothing admission)"},
       {"--dry-run=none|client", "client: print the object (with -o) instead of creating it"},
       {"-o, --output=yaml|json|name", "print the object in this form"}},
      "kubectl kubecnn run NAME --image=IMAGE [options] -- COMMAND LINE"};
  return help;
}

int RunCommand(const std::vector<std::string>& args, Terminal& terminal) {
  const CommandHelp& help = RunHelp();
  const auto split = std::find(args.begin(), args.end(), "--");
  const std::vector<std::string> ours(args.begin(), split);
  RunOptions o;
  if (split != args.end()) o.command.assign(split + 1, args.end());
  int64_t workers = 0, gpus = 0, slots = 0;
  std::string dry_run = "none", output;
  FlagSet flags("kubectl kubecnn run");
  flags.Add("image", &o.image, "");
  flags.Add("workers", &workers, "");
  flags.Add("gpus-per-worker", &gpus, "");
  flags.Add("slots", &slots, "");
  flags.Add("data", &o.data, "");
  flags.Add("checkpoints", &o.checkpoints, "");
  flags.Add("s3-credentials", &o.s3_credentials, "");
  flags.Add("s3-endpoint", &o.s3_endpoint, "");
  flags.Add("s3-region", &o.s3_region, "");
  flags.Add("evaluate", &o.evaluate, "");
  flags.Add("gang", &o.gang, "");
  flags.Add("dry-run", &dry_run, "");
  flags.Add("output", &output, "");
  flags.Add("o", &output, "");
  GlobalFlags globals;
  std::vector<std::string> positional;
  if (!ParseCommand(help, flags, globals, ours, terminal, positional)) return 0;
  o.name = OneName(help, positional);
  if (split == args.end()) {
    throw UsageError("no command line: put the trainer's after --, e.g. kubectl kubecnn run " + o.name +
                     " --image=IMAGE -- --model=resnet50 --batch_size=256");
  }
  if (flags.WasSet("workers")) o.workers = workers;
  if (flags.WasSet("gpus-per-worker")) o.gpus_per_worker = gpus;
  if (flags.WasSet("slots")) o.slots = slots;
  if (dry_run == "true") dry_run = "client";  // a bare --dry-run, as older kubectl took it
  if (dry_run == "server") {
    throw UsageError(
        "--dry-run=server is not supported: use --dry-run=client -o yaml and kubectl apply --dry-run=server "
        "-f -");
  }
  if (dry_run != "none" && dry_run != "client") {
    throw UsageError("invalid --dry-run value \"" + dry_run + "\": none or client");
  }
  if (!output.empty() && output != "yaml" && output != "json" && output != "name") {
    throw UsageError("unable to match a printer suitable for the output format \"" + output +
                     "\", allowed formats are: json,name,yaml");
  }
  Session session(globals, terminal);
  o.ns = session.Namespace();
  const RunPlan plan = BuildRun(o);
  for (const std::string& w : plan.warnings) terminal.err << "warning: " << w << "\n";
  nlohmann::json object = plan.job;
  if (dry_run == "none") {
    object = session.client().Create(kube::resources::kTrainingJobs, o.ns, plan.job);
    object["apiVersion"] = plan.job["apiVersion"];
    object["kind"] = plan.job["kind"];
    if (object.contains("metadata")) object["metadata"].erase("managedFields");  // as kubectl prints objects
  }
  const std::string suffix = dry_run == "client" ? " (dry run)" : "";
  if (output == "yaml") {
    terminal.out << ToYaml(object);
  } else if (output == "json") {
    terminal.out << object.dump(4) << "\n";
  } else if (output == "name") {
    terminal.out << "trainingjob.kubecnn.io/" << o.name << "\n";
  } else {
    terminal.out << "trainingjob.kubecnn.io/" << o.name << " created" << suffix << "\n";
    if (dry_run == "none") {
      terminal.err << "Follow it with: kubectl kubecnn watch " << o.name
                   << (globals.ns.empty() ? "" : " -n " + globals.ns) << "\n";
    }
  }
  return 0;
}

}  // namespace kubecnn::plugin

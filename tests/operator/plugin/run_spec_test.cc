// kubectl kubecnn run's translation: the seed's command lines as golden YAML and against the
// examples in manifests/, the trainer's own refusals, ranks into workers x slots, data and
// checkpoint placement.
#include "operator/plugin/run_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "operator/kube/yaml_json.h"
#include "operator/plugin/trainer_command.h"
#include "operator/plugin/yaml_output.h"
#include "trainer/common/flags.h"

namespace kubecnn::plugin {
namespace {

using nlohmann::json;

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kResNet50 =
    "mpiexec -np 32 python nvcnn_hvd.py --model=resnet50 --data_dir=/data/imagenet --batch_size=256 --fp16 "
    "--larc_mode=clip --larc_eta=0.003 --loss_scale=128 --log_dir=/checkpoints/resnet50 --save_interval=3600 "
    "--num_epochs=90 --display_every=100 --learning_rate=2.0";
const char* kInception3 =
    "mpiexec -np 16 python nvcnn_hvd.py --model=inception3 --data_dir=/data/imagenet --batch_size=128 --fp16 "
    "--larc_mode=clip --larc_eta=0.003 --loss_scale=128 --log_dir=/checkpoints/inception3 --save_interval=3600 "
    "--num_epochs=90 --display_every=100 --learning_rate=1.0";

RunOptions ResNet50Options() {
  RunOptions o;
  o.name = "resnet50";
  o.ns = "default";
  o.image = "kubecnn/trainer:latest";
  o.gpus_per_worker = 8;
  o.data = "imagenet-tfrecords";
  o.checkpoints = "kubecnn-checkpoints";
  o.evaluate = true;
  o.command = Words(kResNet50);
  return o;
}

RunOptions Inception3Options() {
  RunOptions o;
  o.name = "inception3";
  o.ns = "default";
  o.image = "kubecnn/trainer:latest";
  o.workers = 2;
  o.gpus_per_worker = 8;
  o.data = "imagenet-tfrecords";
  o.checkpoints = "kubecnn-checkpoints";
  o.gang = "Volcano";
  o.command = Words(kInception3);
  return o;
}

// Compares with tests/operator/plugin/testdata/<name>; KUBECNN_UPDATE_GOLDEN=1 rewrites the file.
void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(KUBECNN_SOURCE_DIR) + "/tests/operator/plugin/testdata/" + name;
  if (std::getenv("KUBECNN_UPDATE_GOLDEN")) std::ofstream(path) << actual;
  EXPECT_EQ(ReadFile(path), actual) << "golden file " << path << " (KUBECNN_UPDATE_GOLDEN=1 rewrites it)";
}

std::string RefusalOf(RunOptions o) {
  try {
    BuildRun(o);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(accepted)";
}

RunOptions Minimal(const std::string& command) {
  RunOptions o;
  o.name = "job";
  o.ns = "default";
  o.image = "kubecnn/trainer:latest";
  o.checkpoints = "ckpt";
  o.command = Words(command);
  return o;
}

TEST(RunSpec, SeedResNet50CommandLineMakesTheGoldenObject) {
  ExpectGolden("resnet50.yaml", ToYaml(BuildRun(ResNet50Options()).job));
}

TEST(RunSpec, SeedInceptionV3CommandLineMakesTheGoldenObject) {
  ExpectGolden("inception3.yaml", ToYaml(BuildRun(Inception3Options()).job));
}

// manifests/examples/<name>.yaml says it is "the same run as" the seed's command line: the fields
// the command line decides must agree.
TEST(RunSpec, SeedCommandLinesAgreeWithTheExamplesTheyDescribe) {
  for (const auto& [file, options] : std::vector<std::pair<std::string, RunOptions>>{
           {"resnet50.yaml", ResNet50Options()}, {"inception3.yaml", Inception3Options()}}) {
    json example = kube::ParseYaml(ReadFile(std::string(KUBECNN_SOURCE_DIR) + "/manifests/examples/" + file))["spec"];
    // lossScale is a string field ("128", "dynamic"); the example writes the number plainly.
    json& loss_scale = example["trainer"]["lossScale"];
    if (loss_scale.is_number()) loss_scale = loss_scale.dump();
    const json made = BuildRun(options).job["spec"];
    EXPECT_EQ(made["trainer"], example["trainer"]) << file;
    EXPECT_EQ(made["volumes"], example["volumes"]) << file;
    EXPECT_EQ(made["workers"], example["workers"]) << file;
    EXPECT_EQ(made["slotsPerWorker"], example["slotsPerWorker"]) << file;
    EXPECT_EQ(made["resources"]["limits"]["nvidia.com/gpu"], example["resources"]["limits"]["nvidia.com/gpu"]) << file;
  }
}

TEST(RunSpec, TrainerFormsOfOneRunMakeTheSameSpec) {
  const std::string flags = "--model=resnet50 --batch_size=32 --num_batches=100 --fp16";
  RunOptions a = Minimal("mpiexec -np 4 python3 /opt/nvcnn/nvcnn_hvd.py " + flags);
  RunOptions b = Minimal("mpirun --bind-to none --map-by slot -np 4 kubecnn-trainer train " + flags);
  RunOptions c = Minimal(flags);
  c.slots = 4;
  const json spec = BuildRun(a).job["spec"];
  EXPECT_EQ(BuildRun(b).job["spec"], spec);
  EXPECT_EQ(BuildRun(c).job["spec"], spec);
  EXPECT_EQ(spec["workers"], 1);
  EXPECT_EQ(spec["slotsPerWorker"], 4);
}

TEST(RunSpec, FlagsWithoutAFieldGoToExtraArgsAsWritten) {
  const json trainer =
      BuildRun(Minimal("--model=resnet50 --num_batches=10 --fusion_threshold_mb 32 --nocudnn_benchmark --aux_logits "
                       "--keep_checkpoints=2"))
          .job["spec"]["trainer"];
  EXPECT_EQ(trainer["extraArgs"],
            json::array({"--fusion_threshold_mb=32", "--nocudnn_benchmark", "--aux_logits", "--keep_checkpoints=2"}));
  EXPECT_EQ(trainer["numBatches"], 10);
  EXPECT_FALSE(trainer.contains("batchSize"));  // not given: the trainer's default, not a copy of it
}

TEST(RunSpec, EvalCommandLineMakesAnEvaluateJob) {
  RunOptions o = Minimal("--model=resnet50 --eval --checkpoint=/checkpoints/job/model.ckpt-000001000.pt");
  o.data = "s3://imagenet/tfrecords";
  o.s3_credentials = "imagenet-s3";
  const json spec = BuildRun(o).job["spec"];
  EXPECT_EQ(spec["trainer"]["dataDir"], "s3://imagenet/tfrecords");
  EXPECT_EQ(spec["mode"], "Evaluate");
  EXPECT_EQ(spec["evaluation"]["checkpoint"], "/checkpoints/job/model.ckpt-000001000.pt");
  EXPECT_FALSE(spec["trainer"].contains("extraArgs"));
}

TEST(RunSpec, RanksSplitIntoWorkersAndSlots) {
  struct Case {
    std::optional<int64_t> workers, gpus, slots;
    int64_t np;
    int64_t want_workers, want_slots;
  };
  for (const Case& c : std::vector<Case>{{std::nullopt, std::nullopt, std::nullopt, 8, 1, 8},
                                         {4, std::nullopt, std::nullopt, 32, 4, 8},
                                         {std::nullopt, 8, std::nullopt, 32, 4, 8},
                                         {2, 8, std::nullopt, 16, 2, 8},
                                         {std::nullopt, std::nullopt, 2, 6, 3, 2}}) {
    RunOptions o = Minimal("mpiexec -np " + std::to_string(c.np) + " kubecnn-trainer --model=tiny --num_batches=5");
    o.workers = c.workers;
    o.gpus_per_worker = c.gpus;
    o.slots = c.slots;
    const json spec = BuildRun(o).job["spec"];
    EXPECT_EQ(spec["workers"], c.want_workers) << c.np;
    EXPECT_EQ(spec["slotsPerWorker"], c.want_slots) << c.np;
    EXPECT_EQ(spec.contains("resources"), c.gpus.has_value());
  }
}

TEST(RunSpec, RefusesWhatTheTrainerRefusesInItsOwnWords) {
  const std::string prefix = "kubecnn-trainer would refuse this command line: ";
  EXPECT_EQ(RefusalOf(Minimal("--model=resnet50 --fp16 --bf16")), prefix + "--fp16 and --bf16 exclude each other");
  EXPECT_EQ(RefusalOf(Minimal("--model=resnet50 --momentum=1.5")), prefix + "--momentum must be in [0, 1)");
  EXPECT_EQ(RefusalOf(Minimal("--modle=resnet50")), prefix + "unknown flag --modle (did you mean --model?)");
  EXPECT_EQ(RefusalOf(Minimal("--model=resnet50 --batch_size=abc")), prefix + "--batch_size=abc: expected an integer");
  EXPECT_EQ(RefusalOf(Minimal("--model=resnet50 --checkpoint=/x")),
            prefix + "--checkpoint goes with --eval (training resumes from --log_dir)");
  EXPECT_EQ(RefusalOf(Minimal("--model=resnet50 --lr_schedule=bogus")).rfind(prefix + "--lr_schedule: ", 0), 0u);
  EXPECT_EQ(RefusalOf(Minimal("--model=resnet50 --loss_scale=lots")).rfind(prefix, 0), 0u);
}

TEST(RunSpec, RefusesWhatCannotTravelToTheCluster) {
  const auto refusal = [](RunOptions o) { return RefusalOf(std::move(o)); };
  RunOptions local_data = Minimal("--model=resnet50 --data_dir=/raid/imagenet");
  EXPECT_NE(refusal(local_data).find("--data_dir=/raid/imagenet is a path on this machine"), std::string::npos);
  RunOptions outside_claim = Minimal("--model=resnet50 --data_dir=/raid/imagenet");
  outside_claim.data = "imagenet";
  EXPECT_NE(refusal(outside_claim).find("is not under /data, where --data=imagenet is mounted"), std::string::npos);
  RunOptions local_log = Minimal("--model=resnet50 --log_dir=/tmp/run");
  local_log.checkpoints.clear();
  EXPECT_NE(refusal(local_log).find("--log_dir=/tmp/run is a path on this machine"), std::string::npos);
  RunOptions s3 = Minimal("--model=resnet50 --num_batches=5");
  s3.checkpoints = "s3://runs/job";
  EXPECT_NE(refusal(s3).find("s3:// paths need --s3-credentials=SECRET"), std::string::npos);
  s3.s3_credentials = "runs-s3";
  EXPECT_EQ(refusal(s3), "(accepted)");
  RunOptions mismatch = Minimal("mpiexec -np 8 kubecnn-trainer --model=tiny");
  mismatch.workers = 3;
  mismatch.slots = 2;
  EXPECT_EQ(refusal(mismatch), "-np 8 does not match --workers=3 x --slots=2 = 6 ranks");
  RunOptions uneven = Minimal("mpiexec -np 8 kubecnn-trainer --model=tiny");
  uneven.workers = 3;
  EXPECT_EQ(refusal(uneven), "-np 8 ranks do not split evenly over --workers=3");
  RunOptions no_image = Minimal("--model=tiny");
  no_image.image.clear();
  EXPECT_EQ(refusal(no_image).rfind("--image is required", 0), 0u);
  EXPECT_EQ(refusal(Minimal("--model=tiny --metrics_port=9000")).rfind("--metrics_port is set by the operator", 0), 0u);
  RunOptions bad_name = Minimal("--model=tiny");
  bad_name.name = "Bad_Name";
  EXPECT_EQ(refusal(bad_name).rfind("the operator would refuse this TrainingJob: metadata.name", 0), 0u)
      << refusal(bad_name);
  RunOptions epochs_synthetic = Minimal("--model=tiny --num_epochs=3");
  EXPECT_NE(refusal(epochs_synthetic).find("spec.trainer.numEpochs"), std::string::npos);
}

TEST(RunSpec, WarnsThatCheckpointsWithoutAVolumeAreLost) {
  RunOptions o = Minimal("--model=tiny --num_batches=5");
  o.checkpoints.clear();
  const RunPlan plan = BuildRun(o);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("no --checkpoints"), std::string::npos);
  EXPECT_TRUE(BuildRun(Minimal("--model=tiny --num_batches=5")).warnings.empty());
  EXPECT_EQ(BuildRun(Minimal("--model=tiny --num_batches=5")).job["spec"]["trainer"]["logDir"], "/checkpoints/job");
}

TEST(TrainerCommand, SplitsLauncherProgramAndFlags) {
  struct Case {
    std::string line;
    std::optional<int64_t> ranks;
    std::vector<std::string> args;
  };
  for (const Case& c : std::vector<Case>{
           {"--model=tiny", std::nullopt, {"--model=tiny"}},
           {"kubecnn-trainer --model=tiny", std::nullopt, {"--model=tiny"}},
           {"/usr/local/bin/kubecnn-trainer train --model=tiny", std::nullopt, {"--model=tiny"}},
           {"python -u nvcnn_hvd.py --model=tiny", std::nullopt, {"--model=tiny"}},
           {"mpiexec -np 8 python nvcnn_hvd.py --model=tiny", 8, {"--model=tiny"}},
           {"mpirun -n 4 --host a,b --oversubscribe kubecnn-trainer --model=tiny", 4, {"--model=tiny"}},
           {"mpirun --np=2 --allow-run-as-root kubecnn-trainer --model=tiny", 2, {"--model=tiny"}},
       }) {
    const TrainerCommand got = ParseTrainerCommand(Words(c.line));
    EXPECT_EQ(got.ranks, c.ranks) << c.line;
    EXPECT_EQ(got.trainer_args, c.args) << c.line;
  }
}

TEST(TrainerCommand, RefusesWhatItCannotCarryOver) {
  const auto refusal = [](const std::string& line) {
    try {
      ParseTrainerCommand(Words(line));
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(refusal("mpiexec python nvcnn_hvd.py --model=tiny"),
            "mpiexec without -np: say how many ranks to run (e.g. mpiexec -np 8 ...)");
  EXPECT_EQ(refusal("mpiexec -np 0 kubecnn-trainer"), "mpiexec -np 0: expected a positive number of ranks");
  EXPECT_NE(refusal("mpiexec -np 2 -x NCCL_DEBUG kubecnn-trainer").find("spec.podTemplate"), std::string::npos);
  EXPECT_NE(refusal("mpiexec -np 2 --mca btl tcp kubecnn-trainer").find("OMPI_MCA_"), std::string::npos);
  EXPECT_NE(refusal("python train.py --model=tiny").find("only nvcnn_hvd.py"), std::string::npos);
  EXPECT_NE(refusal("bash run.sh").find("cannot run 'bash' on the cluster"), std::string::npos);
  EXPECT_NE(refusal("kubecnn-trainer infer --model=tiny").find("only training"), std::string::npos);
  EXPECT_NE(refusal("").find("no trainer command line after --"), std::string::npos);
}

}  // namespace
}  // namespace kubecnn::plugin

// What list, watch and describe print for a job; YAML output that reads back as the object.
#include "operator/plugin/job_view.h"

#include <gtest/gtest.h>

#include "operator/api/time_format.h"
#include "operator/kube/yaml_json.h"
#include "operator/plugin/describe.h"
#include "operator/plugin/follow.h"
#include "operator/plugin/yaml_output.h"

namespace kubecnn::plugin {
namespace {

using nlohmann::json;

json RunningJob() {
  return {{"apiVersion", "kubecnn.io/v1alpha1"},
          {"kind", "TrainingJob"},
          {"metadata", {{"name", "resnet50"}, {"namespace", "ml"}, {"creationTimestamp", "2026-05-01T12:00:00Z"}}},
          {"spec",
           {{"image", "kubecnn/trainer:latest"},
            {"workers", 4},
            {"slotsPerWorker", 8},
            {"trainer", {{"model", "resnet50"}, {"batchSize", 256}, {"numEpochs", 90}}}}},
          {"status",
           {{"phase", "Running"},
            {"restarts", 1},
            {"attempt", 1},
            {"progress",
             {{"step", 1000}, {"totalSteps", 11000}, {"epoch", 7}, {"imagesPerSecond", 8192.0}, {"loss", 3.25}}}}}};
}

kube::WallTime At(const std::string& stamp) { return *api::ParseTime(stamp); }

TEST(JobView, HumanDurationIsKubectls) {
  const std::vector<std::pair<double, std::string>> cases = {{0, "0s"},
                                                             {45, "45s"},
                                                             {119, "119s"},
                                                             {125, "2m5s"},
                                                             {600, "10m"},
                                                             {179 * 60, "179m"},
                                                             {3 * 3600 + 12 * 60, "3h12m"},
                                                             {8 * 3600, "8h"},
                                                             {47 * 3600, "47h"},
                                                             {50 * 3600, "2d2h"},
                                                             {10 * 86400, "10d"},
                                                             {-5, "0s"}};
  for (const auto& [seconds, text] : cases) EXPECT_EQ(HumanDuration(seconds), text) << seconds;
}

TEST(JobView, EtaIsRemainingStepsAtTheGlobalBatchRate) {
  // 8192 img/s over a global batch of 256 x 4 x 8 = 8192: one step a second, 10000 steps left.
  const api::TrainingJob job = api::TrainingJobFromJson(RunningJob());
  ASSERT_TRUE(EtaSeconds(job));
  EXPECT_DOUBLE_EQ(*EtaSeconds(job), 10000);
  api::TrainingJob restarting = job;
  restarting.status.phase = "Restarting";
  EXPECT_FALSE(EtaSeconds(restarting));
  api::TrainingJob default_batch = job;
  default_batch.spec.trainer.batch_size.reset();  // the trainer's default 64: a quarter of the steps per second
  EXPECT_DOUBLE_EQ(*EtaSeconds(default_batch), 2500);
}

TEST(JobView, ProgressLineNamesEveryFigure) {
  EXPECT_EQ(ProgressLine(api::TrainingJobFromJson(RunningJob())),
            "resnet50  Running  step 1000/11000  epoch 7/90  8192.0 img/s  loss 3.2500  ETA 166m  restarts 1");
  json scheduling = RunningJob();
  scheduling["status"] = {{"phase", "Scheduling"}, {"workers", {{"scheduled", 3}}}};
  EXPECT_EQ(ProgressLine(api::TrainingJobFromJson(scheduling)),
            "resnet50  Scheduling  restarts 0  workers 3/4 scheduled");
  json starting = RunningJob();
  starting["status"]["progress"] = {{"step", 0}, {"totalSteps", 11000}, {"imagesPerSecond", 0.0}, {"loss", 0.0}};
  EXPECT_EQ(ProgressLine(api::TrainingJobFromJson(starting)), "resnet50  Running  step 0/11000  restarts 1");
  json fresh = RunningJob();
  fresh.erase("status");
  EXPECT_EQ(ProgressLine(api::TrainingJobFromJson(fresh)), "resnet50  Pending  restarts 0  workers 0/4 scheduled");
}

TEST(JobView, OutcomeSaysAccuracyOrWhyItFailed) {
  json done = RunningJob();
  done["status"]["phase"] = "Succeeded";
  done["status"]["startTime"] = "2026-05-01T12:00:00Z";
  done["status"]["completionTime"] = "2026-05-01T15:12:00Z";
  done["status"]["evaluation"] = {{"top1", 0.76123}, {"top5", 0.92912}, {"images", 50000}, {"step", 11000}};
  EXPECT_EQ(OutcomeLine(api::TrainingJobFromJson(done)),
            "resnet50 Succeeded in 3h12m: top-1 76.12%, top-5 92.91% (50000 images, step 11000)");
  json failed = RunningJob();
  failed["status"]["phase"] = "Failed";
  failed["status"]["conditions"] = json::array(
      {{{"type", "Failed"}, {"status", "True"}, {"reason", "BackoffLimitExceeded"}, {"message", "4 gang failures"}}});
  const api::TrainingJob f = api::TrainingJobFromJson(failed);
  EXPECT_EQ(OutcomeLine(f), "resnet50 Failed (BackoffLimitExceeded): 4 gang failures");
  EXPECT_EQ(ExitCodeOf(f), 1);
  EXPECT_EQ(ExitCodeOf(api::TrainingJobFromJson(done)), 0);
}

TEST(JobView, TableAlignsColumnsAsKubectl) {
  json other = RunningJob();
  other["metadata"]["name"] = "tiny";
  other["metadata"]["namespace"] = "default";
  other["status"] = {{"phase", "Succeeded"}, {"evaluation", {{"top1", 0.5}, {"top5", 0.75}}}};
  const kube::WallTime now = At("2026-05-01T13:00:00Z");
  const std::string table = FormatTable(
      {RowOf(api::TrainingJobFromJson(RunningJob()), now), RowOf(api::TrainingJobFromJson(other), now)}, true);
  EXPECT_EQ(table,
            "NAMESPACE   NAME       PHASE       STEP         EPOCH   IMG/S    LOSS     ETA    RESTARTS   TOP1     "
            "TOP5     AGE\n"
            "ml          resnet50   Running     1000/11000   7/90    8192.0   3.2500   166m   1          -        -  "
            "      60m\n"
            "default     tiny       Succeeded   -            -       -        -        -      0          50.00%   "
            "75.00%   60m\n");
}

TEST(JobView, RedrawClearsTheLineAndCutsItToTheTerminal) {
  EXPECT_EQ(Redraw("abcdef", 0), "\r\x1b[2Kabcdef");
  EXPECT_EQ(Redraw("abcdef", 4), "\r\x1b[2Kabc");
}

TEST(Describe, ShowsLauncherConditionsRestartsEventsAndNoSecretMaterial) {
  json job = RunningJob();
  job["metadata"]["uid"] = "u1";
  job["metadata"]["annotations"] = {{"kubecnn.io/command-line", "mpiexec -np 32 python nvcnn_hvd.py --model=resnet50"}};
  job["spec"]["storage"] = {{"s3", {{"credentialsSecret", "imagenet-s3"}, {"endpoint", "http://rgw:8080"}}}};
  job["spec"]["trainer"]["dataDir"] = "s3://imagenet/train";
  job["spec"]["trainer"]["logDir"] = "s3://runs/resnet50";
  job["status"]["conditions"] = json::array({{{"type", "Running"},
                                              {"status", "True"},
                                              {"reason", "GangRunning"},
                                              {"message", "the gang runs again after restart 1"},
                                              {"lastTransitionTime", "2026-05-01T12:30:00Z"}}});
  const std::vector<json> events = {{{"type", "Warning"},
                                     {"reason", "GangRestart"},
                                     {"message", "worker resnet50-worker-2 failed (exit code 137): restart 1 of 3"},
                                     {"lastTimestamp", "2026-05-01T12:29:00Z"},
                                     {"count", 1}},
                                    {{"type", "Normal"},
                                     {"reason", "JobCreated"},
                                     {"message", "created"},
                                     {"lastTimestamp", "2026-05-01T12:00:00Z"}}};
  const std::string text = DescribeJob(job, events, At("2026-05-01T13:00:00Z"));
  EXPECT_NE(text.find("Name:         resnet50\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Command line: mpiexec -np 32 python nvcnn_hvd.py --model=resnet50\n"), std::string::npos);
  EXPECT_NE(text.find("Launcher:     mpirun --hostfile /etc/kubecnn/hostfile -np 32 "), std::string::npos) << text;
  EXPECT_NE(text.find("credentials from Secret imagenet-s3"), std::string::npos);
  EXPECT_NE(text.find("Restarts:     1 (gang attempt 1)"), std::string::npos);
  EXPECT_NE(text.find("31m ago  GangRestart  worker resnet50-worker-2 failed (exit code 137)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Running  True    GangRunning  30m"), std::string::npos) << text;
  // Events oldest first.
  EXPECT_LT(text.find("JobCreated"), text.rfind("GangRestart"));
  EXPECT_EQ(text.find("AWS_SECRET_ACCESS_KEY="), std::string::npos);
}

TEST(YamlOutput, ReadsBackAsTheSameObjectWithAmbiguousStringsQuoted) {
  const json value = {{"lossScale", "128"},
                      {"yes", "true"},
                      {"rate", 2.0},
                      {"count", 3},
                      {"empty", ""},
                      {"nothing", nullptr},
                      {"list", json::array({"--a=1", "b: c"})},
                      {"nested", {{"k", json::object()}, {"l", json::array()}}}};
  const std::string text = ToYaml(value);
  EXPECT_EQ(kube::ParseYaml(text), value) << text;
  EXPECT_NE(text.find("lossScale: '128'"), std::string::npos) << text;
  EXPECT_NE(text.find("rate: 2.0"), std::string::npos) << text;
}

}  // namespace
}  // namespace kubecnn::plugin

// TrainingJob JSON: a full manifest survives a round trip field for field, type errors name the
// field, defaulting fills what is absent and keeps what is given, and timestamps parse.
#include "operator/api/training_job.h"

#include <gtest/gtest.h>

#include "operator/api/defaults.h"
#include "operator/api/enums.h"
#include "operator/api/time_format.h"

namespace kubecnn::api {
namespace {

using nlohmann::json;

json FullSpec() {
  return json::parse(R"({
    "mode": "Train", "image": "kubecnn:1", "imagePullPolicy": "Always", "workers": 4, "slotsPerWorker": 8,
    "resources": {"limits": {"nvidia.com/gpu": 8}},
    "trainer": {"model": "resnet50", "dataDir": "/data/imagenet", "logDir": "/checkpoints/r50", "batchSize": 256,
                "numEpochs": 90, "numBatches": 1000, "numClasses": 1000, "precision": "fp16", "learningRate": 2.0,
                "lrSchedule": "poly:2", "optimizer": "sgd", "momentum": 0.9, "nesterov": true, "weightDecay": 0.0001,
                "labelSmoothing": 0.1, "larc": {"mode": "clip", "eta": 0.003}, "lossScale": "128",
                "displayEvery": 100, "saveIntervalSeconds": 3600, "numDataThreads": 8,
                "extraArgs": ["--channels_last"]},
    "volumes": {"data": {"persistentVolumeClaim": {"claimName": "imagenet"}},
                "checkpoints": {"persistentVolumeClaim": {"claimName": "ckpt"}}},
    "storage": {"s3": {"endpoint": "https://rgw.ceph:443", "region": "us-east-1", "credentialsSecret": "imagenet-s3",
                       "caBundle": {"configMap": "rgw-ca", "key": "ca.pem"}}},
    "podTemplate": {"metadata": {"labels": {"team": "vision"}, "annotations": {"a": "b"}},
                    "spec": {"nodeSelector": {"gpu": "h100"}}},
    "runPolicy": {"backoffLimit": 5, "activeDeadlineSeconds": 86400, "ttlSecondsAfterFinished": 600,
                  "cleanPodPolicy": "All", "suspend": false},
    "scheduling": {"gang": "Volcano", "schedulerName": "volcano", "queue": "q", "priorityClassName": "high",
                   "scheduleTimeoutSeconds": 120},
    "evaluation": {"enabled": true, "batchSize": 100, "dataDir": "/data/val", "checkpoint": "/checkpoints/x.ckpt"}
  })");
}

json FullStatus() {
  return json::parse(R"({
    "phase": "Running",
    "conditions": [{"type": "Running", "status": "True", "reason": "LauncherRunning", "message": "m",
                    "lastTransitionTime": "2026-01-01T00:00:00Z", "lastUpdateTime": "2026-01-01T00:00:01Z"}],
    "observedGeneration": 3, "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-02T00:00:00Z",
    "trainingCompletionTime": "2026-01-01T12:00:00Z", "attempt": 4, "restarts": 2, "admissionRetries": 1,
    "retryAfter": "2026-01-01T00:01:00Z",
    "workers": {"desired": 4, "scheduled": 4, "ready": 3, "failed": 1},
    "progress": {"epoch": 3, "step": 1000, "totalSteps": 5000, "imagesPerSecond": 2800.5, "loss": 3.25,
                 "learningRate": 0.4, "lastCheckpoint": "/checkpoints/c", "updatedAt": "2026-01-01T01:00:00Z"},
    "evaluation": {"top1": 0.76, "top5": 0.93, "images": 50000, "step": 5000, "checkpoint": "c",
                   "completedAt": "2026-01-02T00:00:00Z"}
  })");
}

TEST(TrainingJobJson, FullSpecAndStatusRoundTripUnchanged) {
  const json spec = FullSpec();
  EXPECT_EQ(SpecToJson(SpecFromJson(spec)), spec);
  const json status = FullStatus();
  EXPECT_EQ(StatusToJson(StatusFromJson(status)), status);
  const json object = {{"apiVersion", "kubecnn.io/v1alpha1"},
                       {"kind", "TrainingJob"},
                       {"metadata", {{"name", "r50"}, {"namespace", "ml"}, {"uid", "u1"}, {"generation", 3}}},
                       {"spec", spec},
                       {"status", status}};
  const TrainingJob job = TrainingJobFromJson(object);
  EXPECT_EQ(job.Name(), "r50");
  EXPECT_EQ(job.Namespace(), "ml");
  EXPECT_EQ(job.Uid(), "u1");
  EXPECT_EQ(job.Generation(), 3);
  EXPECT_EQ(ToJson(job), object);
}

TEST(TrainingJobJson, TypedValuesAreRead) {
  const TrainingJobSpec s = SpecFromJson(FullSpec());
  EXPECT_EQ(*s.workers, 4);
  EXPECT_EQ(*s.slots_per_worker, 8);
  EXPECT_EQ(s.trainer.model, "resnet50");
  EXPECT_EQ(*s.trainer.precision, "fp16");
  EXPECT_DOUBLE_EQ(*s.trainer.larc->eta, 0.003);
  EXPECT_EQ(s.trainer.extra_args, std::vector<std::string>{"--channels_last"});
  EXPECT_EQ(s.volumes.data["persistentVolumeClaim"]["claimName"], "imagenet");
  EXPECT_EQ(*s.scheduling.gang, "Volcano");
  EXPECT_TRUE(*s.evaluation.enabled);
  ASSERT_TRUE(s.storage.s3);
  EXPECT_EQ(*s.storage.s3->endpoint, "https://rgw.ceph:443");
  EXPECT_EQ(*s.storage.s3->region, "us-east-1");
  EXPECT_EQ(s.storage.s3->credentials_secret, "imagenet-s3");
  EXPECT_EQ(s.storage.s3->ca_bundle->config_map, "rgw-ca");
  EXPECT_EQ(*s.storage.s3->ca_bundle->key, "ca.pem");
}

TEST(TrainingJobJson, LossScaleTakesIntegerOrString) {
  json spec = FullSpec();
  spec["trainer"]["lossScale"] = 128;
  EXPECT_EQ(*SpecFromJson(spec).trainer.loss_scale, "128");
  spec["trainer"]["lossScale"] = "dynamic";
  EXPECT_EQ(*SpecFromJson(spec).trainer.loss_scale, "dynamic");
}

TEST(TrainingJobJson, WrongTypesNameTheField) {
  const auto message = [](json spec) {
    try {
      SpecFromJson(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  json spec = FullSpec();
  spec["trainer"]["batchSize"] = "256x";
  EXPECT_NE(message(spec).find("spec.trainer.batchSize: expected an integer, got \"256x\""), std::string::npos)
      << message(spec);
  spec = FullSpec();
  spec["workers"] = 2.5;
  EXPECT_NE(message(spec).find("spec.workers: expected an integer"), std::string::npos) << message(spec);
  spec = FullSpec();
  spec["trainer"]["extraArgs"] = json::array({"--a", 3});
  EXPECT_NE(message(spec).find("spec.trainer.extraArgs[1]: expected a string"), std::string::npos) << message(spec);
  spec = FullSpec();
  spec["runPolicy"] = "x";
  EXPECT_NE(message(spec).find("spec.runPolicy: expected an object"), std::string::npos) << message(spec);
  spec = FullSpec();
  spec["storage"]["s3"]["credentialsSecret"] = json{{"name", "imagenet-s3"}};
  EXPECT_NE(message(spec).find("spec.storage.s3.credentialsSecret: expected a string"), std::string::npos)
      << message(spec);
  spec = FullSpec();
  spec["workers"] = 4.0;  // YAML may hand over 4.0
  EXPECT_EQ(message(spec), "no error");
}

TEST(TrainingJobDefaults, FillAbsentFieldsAndKeepGivenOnes) {
  TrainingJobSpec bare;
  bare.image = "i";
  bare.trainer.model = "resnet50";
  const TrainingJobSpec d = WithDefaults(bare);
  EXPECT_EQ(*d.mode, "Train");
  EXPECT_EQ(*d.image_pull_policy, "IfNotPresent");
  EXPECT_EQ(*d.workers, 1);
  EXPECT_EQ(*d.slots_per_worker, 1);
  EXPECT_EQ(*d.trainer.log_dir, "/checkpoints");
  EXPECT_FALSE(d.trainer.data_dir) << "no data volume: synthetic data, no --data_dir";
  EXPECT_EQ(d.volumes.checkpoints, (json{{"emptyDir", json::object()}}));
  EXPECT_EQ(*d.run_policy.backoff_limit, 3);
  EXPECT_EQ(*d.run_policy.clean_pod_policy, "Running");
  EXPECT_FALSE(*d.run_policy.suspend);
  EXPECT_EQ(*d.scheduling.gang, "None");
  EXPECT_FALSE(d.scheduling.scheduler_name) << "gang None keeps the cluster's default scheduler";
  EXPECT_EQ(*d.scheduling.schedule_timeout_seconds, 300);
  EXPECT_FALSE(*d.evaluation.enabled);

  const TrainingJobSpec full = WithDefaults(SpecFromJson(FullSpec()));
  EXPECT_EQ(SpecToJson(full), FullSpec()) << "a fully specified job is left as it is";

  TrainingJobSpec with_data = bare;
  with_data.volumes.data = {{"persistentVolumeClaim", {{"claimName", "d"}}}};
  with_data.scheduling.gang = "SchedulerPlugins";
  const TrainingJobSpec wd = WithDefaults(with_data);
  EXPECT_EQ(*wd.trainer.data_dir, "/data");
  EXPECT_EQ(*wd.scheduling.scheduler_name, "scheduler-plugins-scheduler");
}

// Checkpoints in a bucket need no volume (an emptyDir would only hide a mistyped logDir); one the user
// gave is kept. The CA bundle's key defaults to ca.crt.
TEST(TrainingJobDefaults, S3LogDirGetsNoCheckpointVolume) {
  TrainingJobSpec s3;
  s3.image = "i";
  s3.trainer.model = "resnet50";
  s3.trainer.data_dir = "s3://imagenet/train";
  s3.trainer.log_dir = "s3://runs/r50";
  s3.storage.s3 = S3StorageSpec{"http://rgw:80", std::nullopt, "keys", CaBundleRef{"rgw-ca", std::nullopt}};
  const TrainingJobSpec d = WithDefaults(s3);
  EXPECT_TRUE(d.volumes.checkpoints.is_null()) << d.volumes.checkpoints;
  EXPECT_TRUE(d.volumes.data.is_null());
  EXPECT_EQ(*d.trainer.data_dir, "s3://imagenet/train");
  EXPECT_EQ(*d.trainer.log_dir, "s3://runs/r50");
  EXPECT_EQ(*d.storage.s3->ca_bundle->key, "ca.crt");

  const DefaultedSpec plain = Defaulted(s3);
  EXPECT_TRUE(plain.volumes.checkpoints.is_null());
  EXPECT_EQ(plain.log_dir, "s3://runs/r50");
  ASSERT_TRUE(plain.s3);
  EXPECT_EQ(*plain.s3->endpoint, "http://rgw:80");
  EXPECT_FALSE(plain.s3->region) << "none given: the trainer's default";
  EXPECT_EQ(plain.s3->credentials_secret, "keys");
  ASSERT_TRUE(plain.s3->ca_bundle);
  EXPECT_EQ(plain.s3->ca_bundle->config_map, "rgw-ca");
  EXPECT_EQ(plain.s3->ca_bundle->key, "ca.crt");

  s3.volumes.checkpoints = {{"persistentVolumeClaim", {{"claimName", "scratch"}}}};
  EXPECT_EQ(Defaulted(s3).volumes.checkpoints["persistentVolumeClaim"]["claimName"], "scratch");

  TrainingJobSpec local = s3;
  local.volumes.checkpoints = nullptr;
  local.trainer.log_dir.reset();
  EXPECT_EQ(Defaulted(local).volumes.checkpoints, (json{{"emptyDir", json::object()}})) << "a path: emptyDir as before";
  local.storage.s3.reset();
  EXPECT_FALSE(Defaulted(local).s3);
}

// Defaults are applied once: the defaulted spec holds plain values and enums, so no builder or
// planner step re-defaults (value_or) or dereferences an optional that defaulting filled.
TEST(TrainingJobDefaults, DefaultedSpecHoldsPlainValuesAndEnums) {
  TrainingJobSpec raw;
  raw.image = "kubecnn:1";
  raw.trainer.model = "resnet50";
  const DefaultedSpec d = Defaulted(raw);
  EXPECT_EQ(d.mode, Mode::kTrain);
  EXPECT_EQ(d.image_pull_policy, "IfNotPresent");
  EXPECT_EQ(d.workers, kDefaultWorkers);
  EXPECT_EQ(d.slots_per_worker, kDefaultSlotsPerWorker);
  EXPECT_EQ(d.log_dir, kCheckpointMountPath);
  EXPECT_EQ(d.run_policy.backoff_limit, kDefaultBackoffLimit);
  EXPECT_EQ(d.run_policy.clean_pod_policy, CleanPodPolicy::kRunning);
  EXPECT_FALSE(d.run_policy.suspend);
  EXPECT_EQ(d.scheduling.gang, Gang::kNone);
  EXPECT_FALSE(d.scheduling.scheduler_name) << "gang None: the default scheduler";
  EXPECT_EQ(d.scheduling.schedule_timeout_seconds, kDefaultScheduleTimeoutSeconds);
  EXPECT_FALSE(d.evaluation.enabled);
  EXPECT_EQ(d.volumes.checkpoints, (json{{"emptyDir", json::object()}}));

  raw.mode = "Evaluate";
  raw.scheduling.gang = "Volcano";
  raw.run_policy.clean_pod_policy = "All";
  const DefaultedSpec given = Defaulted(raw);
  EXPECT_EQ(given.mode, Mode::kEvaluate);
  EXPECT_EQ(given.scheduling.gang, Gang::kVolcano);
  EXPECT_EQ(*given.scheduling.scheduler_name, kVolcanoSchedulerName);
  EXPECT_EQ(given.run_policy.clean_pod_policy, CleanPodPolicy::kAll);

  raw.scheduling.gang = "Kueue";
  EXPECT_THROW(Defaulted(raw), std::logic_error) << "only a spec that passed validation is defaulted";
}

TEST(Enums, NamesAreTheApisAndParseBack) {
  for (Mode m : {Mode::kTrain, Mode::kEvaluate}) EXPECT_EQ(ParseMode(Name(m)), m);
  for (Gang g : {Gang::kNone, Gang::kVolcano, Gang::kSchedulerPlugins}) EXPECT_EQ(ParseGang(Name(g)), g);
  for (CleanPodPolicy p : {CleanPodPolicy::kAll, CleanPodPolicy::kRunning, CleanPodPolicy::kNone}) {
    EXPECT_EQ(ParseCleanPodPolicy(Name(p)), p);
  }
  EXPECT_STREQ(Name(Gang::kSchedulerPlugins), "SchedulerPlugins");
  EXPECT_STREQ(Name(Phase::kRestarting), "Restarting");
  EXPECT_FALSE(ParseMode("train")) << "case matters, as in the CRD's enum";
}

TEST(TimeFormat, ParsesWhatTheApiServerWrites) {
  const auto t = ParseTime("2026-05-01T12:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatTime(*t), "2026-05-01T12:00:00Z");
  EXPECT_EQ(*ParseTime("2026-05-01T14:00:00+02:00"), *t);
  EXPECT_EQ(*ParseTime("2026-05-01T12:00:00.250000Z") - *t, std::chrono::milliseconds(250));
  EXPECT_FALSE(ParseTime("2026-05-01 12:00:00"));
  EXPECT_FALSE(ParseTime("2026-13-01T12:00:00Z"));
  EXPECT_FALSE(ParseTime(""));
}

}  // namespace
}  // namespace kubecnn::api

// Validation: a good job passes; each broken field is reported under its own name with a message
// that says what is allowed (table-tested), and several errors are all reported at once.
#include "operator/api/validation.h"

#include <gtest/gtest.h>

#include <functional>

#include "operator/api/defaults.h"

namespace kubecnn::api {
namespace {

using nlohmann::json;

TrainingJob GoodJob() {
  TrainingJob job;
  job.metadata = {{"name", "resnet50"}, {"namespace", "ml"}, {"uid", "u"}, {"generation", 1}};
  job.spec.image = "kubecnn:1";
  job.spec.workers = 4;
  job.spec.slots_per_worker = 8;
  job.spec.trainer.model = "resnet50";
  job.spec.trainer.batch_size = 256;
  job.spec.trainer.num_epochs = 90;
  job.spec.volumes.data = {{"persistentVolumeClaim", {{"claimName", "imagenet"}}}};
  job.spec = WithDefaults(job.spec);
  return job;
}

TEST(Validation, GoodJobHasNoErrors) { EXPECT_EQ(Validate(GoodJob()), std::vector<FieldError>{}); }

struct Case {
  const char* name;
  std::function<void(TrainingJob&)> mutate;
  std::string field;
  std::string fragment;  // part of the message
};

TEST(Validation, EachRuleNamesItsField) {
  const std::vector<Case> cases = {
      {"name too long", [](TrainingJob& j) { j.metadata["name"] = std::string(49, 'a'); }, "metadata.name",
       "at most 48 characters"},
      {"name starts with digit", [](TrainingJob& j) { j.metadata["name"] = "9lives"; }, "metadata.name",
       "DNS-1035 label"},
      {"mode", [](TrainingJob& j) { j.spec.mode = "Infer"; }, "spec.mode", "one of Evaluate, Train, got \"Infer\""},
      {"image", [](TrainingJob& j) { j.spec.image = ""; }, "spec.image", "required"},
      {"pull policy", [](TrainingJob& j) { j.spec.image_pull_policy = "Sometimes"; }, "spec.imagePullPolicy",
       "one of Always, IfNotPresent, Never"},
      {"workers", [](TrainingJob& j) { j.spec.workers = 0; }, "spec.workers", "at least 1, got 0"},
      {"slots", [](TrainingJob& j) { j.spec.slots_per_worker = 129; }, "spec.slotsPerWorker", "at most 128, got 129"},
      {"resources key",
       [](TrainingJob& j) {
         j.spec.resources = {{"limit", json::object()}};
       },
       "spec.resources.limit", "takes limits and requests"},
      {"model", [](TrainingJob& j) { j.spec.trainer.model = ""; }, "spec.trainer.model", "required"},
      {"model syntax", [](TrainingJob& j) { j.spec.trainer.model = "resnet50; rm -rf /"; }, "spec.trainer.model",
       "must be a model name"},
      {"batch", [](TrainingJob& j) { j.spec.trainer.batch_size = 0; }, "spec.trainer.batchSize", "at least 1"},
      {"epochs without data",
       [](TrainingJob& j) {
         j.spec.trainer.data_dir.reset();
         j.spec.volumes.data = nullptr;
       },
       "spec.trainer.numEpochs", "needs a dataset"},
      {"relative data dir", [](TrainingJob& j) { j.spec.trainer.data_dir = "imagenet"; }, "spec.trainer.dataDir",
       "absolute path"},
      {"precision", [](TrainingJob& j) { j.spec.trainer.precision = "fp8"; }, "spec.trainer.precision",
       "one of bf16, fp16, fp32"},
      {"momentum", [](TrainingJob& j) { j.spec.trainer.momentum = 1.0; }, "spec.trainer.momentum", "below 1"},
      {"larc mode",
       [](TrainingJob& j) {
         j.spec.trainer.larc = LarcSpec{"cut", 0.003};
       },
       "spec.trainer.larc.mode", "one of clip, scale"},
      {"loss scale", [](TrainingJob& j) { j.spec.trainer.loss_scale = "big"; }, "spec.trainer.lossScale",
       "\"dynamic\""},
      {"extra arg syntax", [](TrainingJob& j) { j.spec.trainer.extra_args = {"-x"}; }, "spec.trainer.extraArgs[0]",
       "--name or --name=value"},
      {"extra arg reserved",
       [](TrainingJob& j) {
         j.spec.trainer.extra_args = {"--fp16", "--batch_size=3"};
       },
       "spec.trainer.extraArgs[0]", "set by spec.trainer.precision"},
      {"extra arg negated reserved", [](TrainingJob& j) { j.spec.trainer.extra_args = {"--nonesterov"}; },
       "spec.trainer.extraArgs[0]", "set by spec.trainer.nesterov"},
      {"extra arg metrics port", [](TrainingJob& j) { j.spec.trainer.extra_args = {"--metrics_port=1"}; },
       "spec.trainer.extraArgs[0]", "set by the operator"},
      {"volume source", [](TrainingJob& j) { j.spec.volumes.data = json::object(); }, "spec.volumes.data",
       "one core/v1 volume source"},
      {"evaluate from emptyDir", [](TrainingJob& j) { j.spec.mode = "Evaluate"; }, "spec.volumes.checkpoints",
       "not emptyDir"},
      {"container without name",
       [](TrainingJob& j) {
         j.spec.pod_template.spec = {{"containers", json::array({json::object()})}};
       },
       "spec.podTemplate.spec.containers[0].name", "required"},
      {"label not string",
       [](TrainingJob& j) {
         j.spec.pod_template.labels = {{"gpu", true}};
       },
       "spec.podTemplate.metadata.labels.gpu", "must be a string"},
      {"backoff", [](TrainingJob& j) { j.spec.run_policy.backoff_limit = -1; }, "spec.runPolicy.backoffLimit",
       "at least 0"},
      {"deadline", [](TrainingJob& j) { j.spec.run_policy.active_deadline_seconds = 0; },
       "spec.runPolicy.activeDeadlineSeconds", "at least 1"},
      {"clean policy", [](TrainingJob& j) { j.spec.run_policy.clean_pod_policy = "Some"; },
       "spec.runPolicy.cleanPodPolicy", "one of All, None, Running"},
      {"gang", [](TrainingJob& j) { j.spec.scheduling.gang = "Kueue"; }, "spec.scheduling.gang",
       "one of None, SchedulerPlugins, Volcano"},
      {"queue without volcano", [](TrainingJob& j) { j.spec.scheduling.queue = "q"; }, "spec.scheduling.queue",
       "needs spec.scheduling.gang: Volcano"},
      {"schedule timeout", [](TrainingJob& j) { j.spec.scheduling.schedule_timeout_seconds = 0; },
       "spec.scheduling.scheduleTimeoutSeconds", "at least 1"},
      {"eval batch", [](TrainingJob& j) { j.spec.evaluation.batch_size = 0; }, "spec.evaluation.batchSize",
       "at least 1"},
      {"eval without data",
       [](TrainingJob& j) {
         j.spec.trainer.data_dir.reset();
         j.spec.trainer.num_epochs.reset();
         j.spec.evaluation.enabled = true;
       },
       "spec.evaluation.dataDir", "validation shards"},
  };
  for (const Case& c : cases) {
    TrainingJob job = GoodJob();
    c.mutate(job);
    const std::vector<FieldError> errors = Validate(job);
    ASSERT_FALSE(errors.empty()) << c.name << ": no error";
    EXPECT_EQ(errors[0].field, c.field) << c.name << ": " << Describe(errors);
    EXPECT_NE(errors[0].message.find(c.fragment), std::string::npos) << c.name << ": " << errors[0].message;
  }
}

// spec.storage.s3 with a Secret; the paths that use it are set per case.
TrainingJob S3Job() {
  TrainingJob job = GoodJob();
  job.spec.volumes.data = nullptr;
  job.spec.trainer.data_dir = "s3://imagenet/train";
  job.spec.trainer.log_dir = "s3://runs/resnet50";
  job.spec.storage.s3 =
      S3StorageSpec{"http://rook-ceph-rgw-store.rook-ceph.svc:80", "us-east-1", "imagenet-s3", std::nullopt};
  job.spec = WithDefaults(job.spec);
  return job;
}

TEST(Validation, ObjectStorePathsAreAcceptedWithStorageS3) {
  const std::vector<std::pair<const char*, std::function<void(TrainingJob&)>>> cases = {
      {"data and checkpoints in buckets, no volume", [](TrainingJob&) {}},
      {"bucket without prefix", [](TrainingJob& j) { j.spec.trainer.data_dir = "s3://imagenet"; }},
      {"bucket with dots and digits", [](TrainingJob& j) { j.spec.trainer.log_dir = "s3://ml.runs-2026/r50/"; }},
      {"data in a bucket, checkpoints on a volume",
       [](TrainingJob& j) {
         j.spec.trainer.log_dir = "/checkpoints/r50";
         j.spec.volumes.checkpoints = {{"persistentVolumeClaim", {{"claimName", "ckpt"}}}};
       }},
      {"data on a volume, checkpoints in a bucket",
       [](TrainingJob& j) {
         j.spec.trainer.data_dir = "/data/imagenet";
         j.spec.volumes.data = {{"persistentVolumeClaim", {{"claimName", "imagenet"}}}};
       }},
      {"evaluation from buckets",
       [](TrainingJob& j) {
         j.spec.evaluation.enabled = true;
         j.spec.evaluation.data_dir = "s3://imagenet/validation";
         j.spec.evaluation.checkpoint = "s3://runs/resnet50/model.ckpt-112590.pt";
       }},
      {"Evaluate mode reads the bucket, no checkpoint volume",
       [](TrainingJob& j) {
         j.spec.mode = "Evaluate";
         j.spec.trainer.num_epochs.reset();
       }},
      {"Evaluate mode with an explicit emptyDir: the bucket holds the checkpoints",
       [](TrainingJob& j) {
         j.spec.mode = "Evaluate";
         j.spec.volumes.checkpoints = {{"emptyDir", json::object()}};
       }},
      {"extra flag with an s3 URL",
       [](TrainingJob& j) { j.spec.trainer.extra_args = {"--init_checkpoint=s3://w/r50.pt"}; }},
      {"AWS S3 itself: no endpoint, no region",
       [](TrainingJob& j) {
         j.spec.storage.s3 = S3StorageSpec{{}, {}, "aws", {}};
       }},
      {"https endpoint with a CA bundle",
       [](TrainingJob& j) {
         j.spec.storage.s3->endpoint = "https://s3.internal:8443/";
         j.spec.storage.s3->ca_bundle = CaBundleRef{"s3-ca", "ca-bundle.pem"};
       }},
      {"storage given, paths local (kept for extraArgs)",
       [](TrainingJob& j) {
         j.spec.trainer.data_dir = "/data";
         j.spec.trainer.log_dir = "/checkpoints";
       }},
  };
  for (const auto& [name, mutate] : cases) {
    TrainingJob job = S3Job();
    mutate(job);
    EXPECT_EQ(Validate(job), std::vector<FieldError>{}) << name << ": " << Describe(Validate(job));
  }
}

TEST(Validation, ObjectStoreMistakesNameTheFieldAndWhatToDo) {
  const std::vector<Case> cases = {
      {"s3 data without storage", [](TrainingJob& j) { j.spec.storage.s3.reset(); }, "spec.trainer.dataDir",
       "\"s3://imagenet/train\" is in an object store: add spec.storage.s3 with credentialsSecret (a Secret holding "
       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"},
      {"s3 log dir without storage",
       [](TrainingJob& j) {
         j.spec.storage.s3.reset();
         j.spec.trainer.data_dir = "/data";
       },
       "spec.trainer.logDir", "\"s3://runs/resnet50\" is in an object store: add spec.storage.s3"},
      {"s3 eval checkpoint without storage",
       [](TrainingJob& j) {
         j.spec.storage.s3.reset();
         j.spec.trainer.data_dir = "/data";
         j.spec.trainer.log_dir = "/checkpoints";
         j.spec.evaluation.checkpoint = "s3://runs/x.pt";
       },
       "spec.evaluation.checkpoint", "is in an object store: add spec.storage.s3"},
      {"s3 extra flag without storage",
       [](TrainingJob& j) {
         j.spec.storage.s3.reset();
         j.spec.trainer.data_dir = "/data";
         j.spec.trainer.log_dir = "/checkpoints";
         j.spec.trainer.extra_args = {"--init_checkpoint=s3://w/r50.pt"};
       },
       "spec.trainer.extraArgs[0]", "--init_checkpoint names an object store: add spec.storage.s3"},
      {"no bucket", [](TrainingJob& j) { j.spec.trainer.data_dir = "s3://"; }, "spec.trainer.dataDir",
       "names no bucket: write s3://BUCKET or s3://BUCKET/prefix, got \"s3://\""},
      {"no bucket before the prefix", [](TrainingJob& j) { j.spec.trainer.log_dir = "s3:///runs"; },
       "spec.trainer.logDir", "names no bucket"},
      {"upper-case bucket", [](TrainingJob& j) { j.spec.trainer.data_dir = "s3://ImageNet/train"; },
       "spec.trainer.dataDir",
       "bucket \"ImageNet\" is not a valid S3 bucket name (a bucket name has lower-case letters, digits"},
      {"short bucket", [](TrainingJob& j) { j.spec.trainer.data_dir = "s3://ab/x"; }, "spec.trainer.dataDir",
       "3 to 63 characters, got 2"},
      {"bucket as IP", [](TrainingJob& j) { j.spec.evaluation.data_dir = "s3://10.0.0.1/val"; },
       "spec.evaluation.dataDir", "not an IP address"},
      {"other scheme", [](TrainingJob& j) { j.spec.trainer.data_dir = "gs://imagenet/train"; }, "spec.trainer.dataDir",
       "scheme gs:// is not supported: use a path inside the pod or s3://bucket/prefix"},
      {"relative checkpoint", [](TrainingJob& j) { j.spec.evaluation.checkpoint = "model.ckpt-100.pt"; },
       "spec.evaluation.checkpoint", "absolute path inside the pod (e.g. /data/imagenet) or s3://bucket/prefix"},
      {"no credentials", [](TrainingJob& j) { j.spec.storage.s3->credentials_secret = ""; },
       "spec.storage.s3.credentialsSecret",
       "required: the name of a Secret in the job's namespace with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
      {"secret name", [](TrainingJob& j) { j.spec.storage.s3->credentials_secret = "S3_Keys"; },
       "spec.storage.s3.credentialsSecret", "must be a Secret name (DNS-1123 subdomain), got \"S3_Keys\""},
      {"endpoint scheme", [](TrainingJob& j) { j.spec.storage.s3->endpoint = "rook-ceph-rgw:80"; },
       "spec.storage.s3.endpoint", "must be http://host[:port] or https://host[:port]"},
      {"endpoint path", [](TrainingJob& j) { j.spec.storage.s3->endpoint = "http://rgw:80/bucket"; },
       "spec.storage.s3.endpoint", "got \"http://rgw:80/bucket\""},
      {"region", [](TrainingJob& j) { j.spec.storage.s3->region = "us east"; }, "spec.storage.s3.region",
       "must be a region name such as us-east-1"},
      {"ca bundle without config map",
       [](TrainingJob& j) {
         j.spec.storage.s3->ca_bundle = CaBundleRef{"", "ca.crt"};
       },
       "spec.storage.s3.caBundle.configMap", "required"},
      {"ca bundle key",
       [](TrainingJob& j) {
         j.spec.storage.s3->ca_bundle = CaBundleRef{"s3-ca", "ca/crt"};
       },
       "spec.storage.s3.caBundle.key", "must be a ConfigMap key"},
      {"Evaluate from emptyDir with a local log dir",
       [](TrainingJob& j) {
         j.spec.mode = "Evaluate";
         j.spec.trainer.log_dir = "/checkpoints";
         j.spec.volumes.checkpoints = {{"emptyDir", json::object()}};
       },
       "spec.volumes.checkpoints", "or set spec.trainer.logDir to that job's s3:// logDir"},
  };
  for (const Case& c : cases) {
    TrainingJob job = S3Job();
    c.mutate(job);
    const std::vector<FieldError> errors = Validate(job);
    ASSERT_FALSE(errors.empty()) << c.name << ": no error";
    EXPECT_EQ(errors[0].field, c.field) << c.name << ": " << Describe(errors);
    EXPECT_NE(errors[0].message.find(c.fragment), std::string::npos) << c.name << ": " << errors[0].message;
  }
}

// The message is stored in status and an Event: credentials written into the endpoint stay out of it.
TEST(Validation, EndpointWithCredentialsIsRefusedWithoutEchoingThem) {
  TrainingJob job = S3Job();
  job.spec.storage.s3->endpoint = "http://AKIAEXAMPLE:wJalrXUtnFEMI@rgw:80";
  const std::vector<FieldError> errors = Validate(job);
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "spec.storage.s3.endpoint");
  EXPECT_NE(errors[0].message.find("must not carry user info"), std::string::npos) << errors[0].message;
  EXPECT_EQ(Describe(errors).find("wJalrXUtnFEMI"), std::string::npos) << Describe(errors);
}

// What a pod template may ask for: the operator creates the pods with its own rights.
std::vector<FieldError> TemplateErrors(const std::string& spec, PodTemplatePolicy policy = {}) {
  TrainingJob job = GoodJob();
  job.spec.pod_template.spec = json::parse(spec);
  return Validate(job, policy);
}

bool Refuses(const std::vector<FieldError>& errors, const std::string& field, const std::string& fragment) {
  for (const FieldError& e : errors) {
    if (e.field == field && e.message.find(fragment) != std::string::npos) return true;
  }
  return false;
}

TEST(PodTemplatePolicy, AllowsWhereToRunAndWhatToCarry) {
  EXPECT_EQ(TemplateErrors(R"({
    "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {}, "priorityClassName": "training", "imagePullSecrets": [{"name": "registry"}],
    "securityContext": {"runAsUser": 2000, "fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}},
    "hostNetwork": false, "automountServiceAccountToken": false, "terminationGracePeriodSeconds": 60,
    "containers": [{"name": "worker", "env": [{"name": "NCCL_DEBUG", "value": "INFO"}],
                    "securityContext": {"readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}},
                   {"name": "log-shipper", "image": "fluent-bit", "ports": [{"containerPort": 2020}]}],
    "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}}, {"name": "creds", "secret": {"secretName": "s"}},
                {"name": "cache", "persistentVolumeClaim": {"claimName": "cache"}}]})"),
            std::vector<FieldError>{});
}

TEST(PodTemplatePolicy, RefusesEachWayOutOfThePodsIsolation) {
  const std::string p = "spec.podTemplate.spec.";
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"hostNetwork": true})"), p + "hostNetwork", "host namespaces"));
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"hostPID": true})"), p + "hostPID", "host namespaces"));
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"hostIPC": true})"), p + "hostIPC", "host namespaces"));
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"nodeName": "gpu-7"})"), p + "nodeName", "use nodeSelector"));
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]})"),
                      p + "volumes[0].hostPath", "host paths are not allowed"));
  EXPECT_TRUE(
      Refuses(TemplateErrors(R"({"containers": [{"name": "worker", "securityContext": {"privileged": true}}]})"),
              p + "containers[0].securityContext.privileged", "not allowed"));
  EXPECT_TRUE(Refuses(
      TemplateErrors(
          R"({"initContainers": [{"name": "x", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]})"),
      p + "initContainers[0].securityContext.capabilities.add", "adding capabilities"));
  EXPECT_TRUE(
      Refuses(TemplateErrors(R"({"containers": [{"name": "s", "ports": [{"containerPort": 1, "hostPort": 1}]}]})"),
              p + "containers[0].ports[].hostPort", "host ports"));
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})"),
                      p + "securityContext.seccompProfile.type", "RuntimeDefault"));
  EXPECT_TRUE(
      Refuses(TemplateErrors(R"({"securityContext": {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]}})"),
              p + "securityContext.sysctls", "not allowed"));
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"hostname": "evil"})"), p + "hostname", "allowed: nodeSelector"))
      << "fields the operator sets, and typos, are refused with the list of what is allowed";
}

TEST(PodTemplatePolicy, AnotherServiceAccountOnlyWhenTheChartOptsIn) {
  const auto refused = TemplateErrors(R"({"serviceAccountName": "cluster-admin-bot"})");
  EXPECT_TRUE(Refuses(refused, "spec.podTemplate.spec.serviceAccountName", "operator.podTemplate.allowServiceAccount"))
      << Describe(refused);
  EXPECT_TRUE(Refuses(TemplateErrors(R"({"serviceAccount": "bot"})"), "spec.podTemplate.spec.serviceAccount",
                      "allowServiceAccount"));
  EXPECT_EQ(TemplateErrors(R"({"serviceAccountName": "reader"})", PodTemplatePolicy{true}), std::vector<FieldError>{});
}

TEST(Validation, ReportsEveryErrorAtOnce) {
  TrainingJob job = GoodJob();
  job.spec.workers = 0;
  job.spec.image = "";
  job.spec.trainer.batch_size = -1;
  const std::vector<FieldError> errors = Validate(job);
  ASSERT_EQ(errors.size(), 3u) << Describe(errors);
  const std::string text = Describe(errors);
  EXPECT_NE(text.find("spec.image: required"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.workers: must be at least 1, got 0"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.trainer.batchSize: must be at least 1, got -1"), std::string::npos) << text;
}

TEST(Validation, ReservedFlagsCoverEveryTypedField) {
  const std::vector<std::string>& flags = ReservedTrainerFlags();
  for (const char* flag : {"model", "data_dir", "log_dir", "batch_size", "metrics_port", "eval", "fp16", "bf16"}) {
    EXPECT_NE(std::find(flags.begin(), flags.end(), flag), flags.end()) << flag;
  }
}

}  // namespace
}  // namespace kubecnn::api

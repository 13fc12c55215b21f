// spec.storage.s3 in the pods: the AWS_* variables on worker and launcher (credentials only as
// secretKeyRef, so no object the operator writes holds a credential), the CA bundle mount, no
// checkpoint volume with an s3:// logDir, mpirun forwarding the names, and the evaluation
// stage passing the bucket paths to the trainer unchanged.
#include "operator/controller/s3_env.h"

#include <gtest/gtest.h>

#include "operator/api/defaults.h"
#include "operator/controller/builders.h"
#include "operator/controller/names.h"
#include "operator/controller/pod_builders.h"
#include "operator/controller/ssh_keys.h"
#include "operator/controller/trainer_args.h"
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller {
namespace {

using api::Defaulted;
using nlohmann::json;
using testing::MakeJob;

// Shards and checkpoints in buckets of a Ceph RGW, no volumes.
api::TrainingJob S3Job() {
  api::TrainingJob job = MakeJob(2, 4);
  job.spec.volumes.data = nullptr;
  job.spec.volumes.checkpoints = nullptr;
  job.spec.trainer.data_dir = "s3://imagenet/tfrecords";
  job.spec.trainer.log_dir = "s3://runs/r50";
  job.spec.storage.s3 =
      api::S3StorageSpec{"http://rook-ceph-rgw.rook:80", "us-east-1", "imagenet-s3", api::CaBundleRef{"rgw-ca", {}}};
  return job;
}

const json* FindByName(const json& list, const std::string& name) {
  for (const json& item : list) {
    if (item.value("name", "") == name) return &item;
  }
  return nullptr;
}

// Every string anywhere in `value`, for "does this text appear anywhere in the object".
void Strings(const json& value, std::vector<std::string>* out) {
  if (value.is_string()) out->push_back(value.get<std::string>());
  if (value.is_structured()) {
    for (const json& child : value) Strings(child, out);
  }
}

TEST(S3Env, WorkerAndLauncherGetEndpointRegionCaAndCredentialsByReference) {
  const api::DefaultedJob job = Defaulted(S3Job());
  for (const json& pod :
       {WorkerPod(job, 1, 0), LauncherPod(job, kStageTrain, 0), LauncherPod(job, kStageEvaluate, 0)}) {
    SCOPED_TRACE(pod["metadata"]["name"].get<std::string>());
    const json& env = pod["spec"]["containers"][0]["env"];
    EXPECT_EQ(*FindByName(env, "AWS_ENDPOINT_URL_S3"),
              (json{{"name", "AWS_ENDPOINT_URL_S3"}, {"value", "http://rook-ceph-rgw.rook:80"}}));
    EXPECT_EQ(*FindByName(env, "AWS_REGION"), (json{{"name", "AWS_REGION"}, {"value", "us-east-1"}}));
    EXPECT_EQ(*FindByName(env, "AWS_CA_BUNDLE"), (json{{"name", "AWS_CA_BUNDLE"}, {"value", kS3CaFile}}));
    for (const char* key : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
      ASSERT_TRUE(FindByName(env, key)) << key;
      EXPECT_EQ(*FindByName(env, key),
                (json{{"name", key}, {"valueFrom", {{"secretKeyRef", {{"name", "imagenet-s3"}, {"key", key}}}}}}))
          << "required: a Secret without the key keeps the pod from starting, with the kubelet saying which";
    }
    EXPECT_EQ(*FindByName(env, "AWS_SESSION_TOKEN"),
              (json{{"name", "AWS_SESSION_TOKEN"},
                    {"valueFrom",
                     {{"secretKeyRef", {{"name", "imagenet-s3"}, {"key", "AWS_SESSION_TOKEN"}, {"optional", true}}}}}}))
        << "only temporary credentials have a session token";
    const json* volume = FindByName(pod["spec"]["volumes"], "s3-ca");
    ASSERT_TRUE(volume);
    EXPECT_EQ((*volume)["configMap"], (json{{"name", "rgw-ca"}, {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}));
    EXPECT_EQ(*FindByName(pod["spec"]["containers"][0]["volumeMounts"], "s3-ca"),
              (json{{"name", "s3-ca"}, {"mountPath", kS3CaDir}, {"readOnly", true}}));
    EXPECT_FALSE(FindByName(pod["spec"]["volumes"], "checkpoints")) << "the bucket holds the checkpoints";
    EXPECT_FALSE(FindByName(pod["spec"]["containers"][0]["volumeMounts"], "checkpoints"));
    EXPECT_FALSE(FindByName(pod["spec"]["volumes"], "data"));
    EXPECT_EQ(*FindByName(env, "KUBECNN_LOG_DIR"), (json{{"name", "KUBECNN_LOG_DIR"}, {"value", "s3://runs/r50"}}));
  }
}

TEST(S3Env, OnlyWhatIsConfiguredIsSet) {
  api::TrainingJob job = S3Job();
  job.spec.storage.s3 = api::S3StorageSpec{std::nullopt, std::nullopt, "aws-keys", std::nullopt};  // AWS S3 itself
  const api::DefaultedJob d = Defaulted(job);
  std::vector<std::string> names;
  for (const json& e : S3Env(d.spec)) names.push_back(e["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}));
  EXPECT_FALSE(FindByName(WorkerPod(d, 0, 0)["spec"]["volumes"], "s3-ca"));
  EXPECT_EQ(S3ForwardedEnv(d.spec), (std::vector<std::string>{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}));

  // Without spec.storage.s3 the pods are as before: no AWS_* variable, nothing forwarded.
  const api::DefaultedJob plain = Defaulted(MakeJob());
  EXPECT_TRUE(S3Env(plain.spec).empty());
  EXPECT_TRUE(S3ForwardedEnv(plain.spec).empty());
  EXPECT_TRUE(S3OptionalEnv(plain.spec).empty());
  const json launcher = LauncherPod(plain, kStageTrain, 0);
  for (const json& e : launcher["spec"]["containers"][0]["env"]) {
    EXPECT_NE(e["name"].get<std::string>().rfind("AWS_", 0), 0u) << e;
    EXPECT_NE(e["name"], kEnvForwardIfSet);
  }
  for (const std::string& arg : MpirunArgs(plain.spec, kStageTrain)) EXPECT_NE(arg, "-x");
}

// A volume the user gives for checkpoints is still mounted (e.g. scratch space next to a bucket).
TEST(S3Env, GivenCheckpointVolumeIsStillMounted) {
  api::TrainingJob job = S3Job();
  job.spec.volumes.checkpoints = {{"persistentVolumeClaim", {{"claimName", "scratch"}}}};
  const json pod = WorkerPod(Defaulted(job), 0, 0);
  ASSERT_TRUE(FindByName(pod["spec"]["volumes"], "checkpoints"));
  EXPECT_EQ((*FindByName(pod["spec"]["volumes"], "checkpoints"))["persistentVolumeClaim"]["claimName"], "scratch");
}

// The operator knows the Secret's name, never its values: every credential variable of every child
// is a reference, and the only place the Secret is named is such a reference.
TEST(S3Env, NoChildHoldsACredentialValue) {
  const api::DefaultedJob job = Defaulted(S3Job());
  const std::vector<json> children = {HeadlessService(job),
                                      HostfileConfigMap(job),
                                      SshSecret(job, GenerateSshKeyPair()),
                                      WorkerPod(job, 0, 0),
                                      WorkerPod(job, 1, 0),
                                      LauncherPod(job, kStageTrain, 0),
                                      LauncherPod(job, kStageEvaluate, 0)};
  int references = 0;
  for (const json& child : children) {
    if (child["kind"] != "Pod") {
      std::vector<std::string> strings;
      Strings(child, &strings);
      for (const std::string& s : strings) EXPECT_EQ(s.find("imagenet-s3"), std::string::npos) << child["kind"];
      continue;
    }
    for (const json& env : child["spec"]["containers"][0]["env"]) {
      const std::string name = env["name"];
      if (name == "AWS_ACCESS_KEY_ID" || name == "AWS_SECRET_ACCESS_KEY" || name == "AWS_SESSION_TOKEN") {
        EXPECT_FALSE(env.contains("value")) << env;
        EXPECT_EQ(env["valueFrom"]["secretKeyRef"]["name"], "imagenet-s3") << env;
        ++references;
      }
    }
  }
  EXPECT_EQ(references, 4 * 3);
}

TEST(S3Env, MpirunForwardsTheNamesAndTheLauncherTheOptionalOnes) {
  const api::DefaultedJob job = Defaulted(S3Job());
  const std::vector<std::string> args = MpirunArgs(job.spec, kStageTrain);
  const std::vector<std::string> expected_head = {"mpirun",
                                                  "--hostfile",
                                                  "/etc/kubecnn/hostfile",
                                                  "-np",
                                                  "8",
                                                  "--map-by",
                                                  "slot",
                                                  "--bind-to",
                                                  "none",
                                                  "--mca",
                                                  "orte_abort_on_non_zero_status",
                                                  "1",
                                                  "-x",
                                                  "AWS_ENDPOINT_URL_S3",
                                                  "-x",
                                                  "AWS_REGION",
                                                  "-x",
                                                  "AWS_CA_BUNDLE",
                                                  "-x",
                                                  "AWS_ACCESS_KEY_ID",
                                                  "-x",
                                                  "AWS_SECRET_ACCESS_KEY",
                                                  "kubecnn-trainer",
                                                  "--model=resnet50",
                                                  "--data_dir=s3://imagenet/tfrecords",
                                                  "--log_dir=s3://runs/r50"};
  ASSERT_GE(args.size(), expected_head.size());
  EXPECT_EQ(std::vector<std::string>(args.begin(), args.begin() + static_cast<long>(expected_head.size())),
            expected_head);
  const json launcher = LauncherPod(job, kStageTrain, 0);
  EXPECT_EQ(launcher["spec"]["containers"][0]["args"], json(args));
  EXPECT_EQ(*FindByName(launcher["spec"]["containers"][0]["env"], kEnvForwardIfSet),
            (json{{"name", kEnvForwardIfSet}, {"value", "AWS_SESSION_TOKEN"}}))
      << "mpirun warns on -x of an unset variable: the script forwards the token only when the Secret has one";
  EXPECT_FALSE(FindByName(WorkerPod(job, 0, 0)["spec"]["containers"][0]["env"], kEnvForwardIfSet));
}

// Evaluate mode and the evaluation after training read the checkpoint from the bucket: the
// trainer gets the s3:// paths as they are.
TEST(S3Env, EvaluationPassesBucketPathsUnchanged) {
  api::TrainingJob job = S3Job();
  job.spec.evaluation.enabled = true;
  job.spec.evaluation.batch_size = 250;
  EXPECT_EQ(TrainerArgs(Defaulted(job).spec, kStageEvaluate),
            (std::vector<std::string>{"--model=resnet50", "--data_dir=s3://imagenet/tfrecords",
                                      "--log_dir=s3://runs/r50", "--batch_size=250", "--metrics_port=9400", "--eval"}));
  job.spec.mode = "Evaluate";
  job.spec.evaluation.enabled.reset();
  job.spec.evaluation.data_dir = "s3://imagenet/val-only";
  job.spec.evaluation.checkpoint = "s3://runs/r50/model.ckpt-112590.pt";
  const api::DefaultedJob eval = Defaulted(job);
  EXPECT_EQ(TrainerArgs(eval.spec, kStageEvaluate),
            (std::vector<std::string>{"--model=resnet50", "--data_dir=s3://imagenet/val-only",
                                      "--log_dir=s3://runs/r50", "--batch_size=250", "--metrics_port=9400", "--eval",
                                      "--checkpoint=s3://runs/r50/model.ckpt-112590.pt"}));
  const json launcher = LauncherPod(eval, kStageEvaluate, 0);
  EXPECT_EQ(*FindByName(launcher["spec"]["containers"][0]["env"], "KUBECNN_EVAL_RESULT"),
            (json{{"name", "KUBECNN_EVAL_RESULT"}, {"value", "1"}}));
  EXPECT_FALSE(FindByName(launcher["spec"]["volumes"], "checkpoints"));
}

}  // namespace
}  // namespace kubecnn::controller

// kubecnn-trainer with s3:// paths as users run it: the exit code the operator acts on (2 final,
// 1 restart) for every storage failure, a message naming bucket, key and credential source, and
// never the secret key on stdout or stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "tests/support/fault_proxy.h"
#include "tests/support/photo_shards.h"
#include "tests/support/process.h"
#include "tests/support/s3_server.h"
#include "tests/support/test_files.h"
#include "tests/support/test_pki.h"

namespace {

using kubecnn::testing::CephObjectGateway;
using kubecnn::testing::ScratchDir;

using Outcome = kubecnn::testing::CommandOutcome;

class S3TrainerBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_WITHOUT_CEPH();
    KUBECNN_SKIP_IF(!kubecnn::testing::WritePhotoShards(shards_.path(), 16, 2, 4), "testdata photos not present");
    gateway_ = &CephObjectGateway::Shared();
    bucket_ = gateway_->CreateUniqueBucket("cli");
    for (const auto& entry : std::filesystem::directory_iterator(shards_.path())) {
      gateway_->PutObject(bucket_, "shards/" + entry.path().filename().string(),
                          kubecnn::testing::ReadFile(entry.path().string()));
    }
  }

  // Runs the trainer with the AWS environment of `endpoint` (the gateway's unless given).
  // Without `credentials`, neither key is in the environment (and HOME holds no credentials file).
  Outcome Run(const std::string& args, const std::string& endpoint = "", const std::string& secret = "",
              bool credentials = true) {
    const auto& account = gateway_->account();
    std::string env = "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN ";
    if (credentials) {
      env += "AWS_ACCESS_KEY_ID=" + account.access_key +
             " AWS_SECRET_ACCESS_KEY=" + (secret.empty() ? account.secret_key : secret) + " ";
    } else {
      env += "HOME=/nonexistent ";
    }
    env += "AWS_ENDPOINT_URL_S3=" + (endpoint.empty() ? account.endpoint : endpoint) +
           " AWS_MAX_ATTEMPTS=2 KUBECNN_S3_STALL_TIMEOUT_SECONDS=2 ";
    const Outcome out = kubecnn::testing::RunCommand(env + KUBECNN_BINARY_DIR "/trainer/kubecnn-trainer " + args);
    EXPECT_EQ(out.output.find(account.secret_key), std::string::npos) << "the secret key was printed:\n" << out.output;
    return out;
  }
  std::string Url(const std::string& key) const { return "s3://" + bucket_ + "/" + key; }
  std::string TrainArgs(const std::string& data_dir, const std::string& log_dir = "") const {
    return "--model=tiny --image_size=32 --num_classes=4 --batch_size=4 --num_batches=2 --num_data_threads=2 "
           "--data_dir=" +
           data_dir + (log_dir.empty() ? "" : " --log_dir=" + log_dir);
  }

  ScratchDir shards_;
  CephObjectGateway* gateway_ = nullptr;
  std::string bucket_;
};

TEST_F(S3TrainerBinary, TrainsFromABucketAndCheckpointsIntoIt) {
  const Outcome o = Run(TrainArgs(Url("shards"), Url("run")));
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("Checkpoint written to " + Url("run/model.ckpt-000000002.pt")), std::string::npos)
      << o.output;
  EXPECT_TRUE(gateway_->GetObject(bucket_, "run/model.ckpt-000000002.pt"));
}

TEST_F(S3TrainerBinary, ANoSuchBucketExitsTwoNamingBucketAndCredentialSource) {
  const Outcome o = Run(TrainArgs("s3://no-such-bucket-kubecnn/shards"));
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_NE(o.output.find("NoSuchBucket"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("s3://no-such-bucket-kubecnn"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("credentials from environment variables"), std::string::npos) << o.output;
}

TEST_F(S3TrainerBinary, AMissingCheckpointObjectExitsTwoNamingTheKey) {
  const Outcome o = Run("--model=tiny --image_size=32 --num_classes=4 --eval --data_dir=" + Url("shards") +
                        " --checkpoint=" + Url("run/model.ckpt-000000099.pt"));
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_NE(o.output.find(Url("run/model.ckpt-000000099.pt")), std::string::npos) << o.output;
}

TEST_F(S3TrainerBinary, BadCredentialsExitTwoSayingWhichSourceWasUsed) {
  const Outcome o = Run(TrainArgs(Url("shards")), "", "wrong-secret-value");
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_NE(o.output.find("SignatureDoesNotMatch"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"), std::string::npos)
      << o.output;
  EXPECT_EQ(o.output.find("wrong-secret-value"), std::string::npos) << o.output;
}

TEST_F(S3TrainerBinary, NoCredentialsAtAllExitTwoSayingWhatToSet) {
  const Outcome o = Run(TrainArgs(Url("shards")), "", "", /*credentials=*/false);
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_NE(o.output.find("no S3 credentials"), std::string::npos) << o.output;
}

TEST_F(S3TrainerBinary, AnObjectStoreThatKeepsFailingExitsOneForTheGangToRestart) {
  kubecnn::testing::FaultProxy proxy(gateway_->host(), gateway_->port());
  proxy.FailEvery(kubecnn::testing::Fault::SlowDown());
  const Outcome o = Run(TrainArgs(Url("shards")), proxy.url());
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_NE(o.output.find("SlowDown after 2 tries"), std::string::npos) << o.output;
}

TEST_F(S3TrainerBinary, BytesCorruptedOnTheWayAreCaughtByTheRecordCrc) {
  kubecnn::testing::FaultProxy proxy(gateway_->host(), gateway_->port());
  // Every ranged read of a shard gets one byte flipped past the record header.
  proxy.FailEvery(kubecnn::testing::Fault::CorruptBodyByte(40), [](const kubecnn::testing::ProxiedRequest& r) {
    return r.method == "GET" && !r.Header("range").empty() && r.path().find("/shards/train-") != std::string::npos;
  });
  const Outcome o = Run(TrainArgs(Url("shards")), proxy.url());
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_NE(o.output.find("CRC mismatch"), std::string::npos) << o.output;
}

// The same gateway serving HTTPS with a certificate of a throwaway CA: trusted through
// AWS_CA_BUNDLE, refused (exit 2, saying what to set) without it or with another CA.
TEST_F(S3TrainerBinary, HttpsEndpointsAreTrustedThroughAwsCaBundleOnly) {
  ScratchDir tls;
  const kubecnn::testing::TestPki pki = kubecnn::testing::GenerateTestPki();
  const kubecnn::testing::TestPki other = kubecnn::testing::GenerateTestPki();
  kubecnn::testing::WriteFile(tls / "server.pem", pki.server.cert_pem);
  kubecnn::testing::WriteFile(tls / "server.key", pki.server.key_pem);
  kubecnn::testing::WriteFile(tls / "ca.pem", pki.ca.cert_pem);
  kubecnn::testing::WriteFile(tls / "other-ca.pem", other.ca.cert_pem);
  const std::string script = std::string(KUBECNN_SOURCE_DIR) + "/scripts/ceph-rgw.sh";
  const std::string start = "CEPH_RGW_WATCH_PID=" + std::to_string(getpid()) +
                            " CEPH_RGW_TLS_CERT=" + (tls / "server.pem") + " CEPH_RGW_TLS_KEY=" + (tls / "server.key") +
                            " bash " + script + " start " + (tls / "ceph") + " >" + (tls / "start.log") + " 2>&1";
  ASSERT_EQ(std::system(start.c_str()), 0) << kubecnn::testing::ReadFile(tls / "start.log");
  struct Stop {
    std::string command;
    ~Stop() { std::system(command.c_str()); }
  } stop{"bash " + script + " stop " + (tls / "ceph") + " >/dev/null 2>&1"};
  std::map<std::string, std::string> env;
  std::istringstream lines(kubecnn::testing::ReadFile(tls / "ceph/env"));
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  ASSERT_TRUE(env.count("S3_TLS_ENDPOINT")) << kubecnn::testing::ReadFile(tls / "ceph/env");
  // This gateway has its own user: the bucket is made over its plain-HTTP port.
  const kubecnn::testing::S3Account account{env["S3_ENDPOINT"], env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"]};
  kubecnn::testing::S3TestClient client(account);
  client.CreateBucket("tls-bucket");
  for (const auto& entry : std::filesystem::directory_iterator(shards_.path())) {
    client.PutObject("tls-bucket", "shards/" + entry.path().filename().string(),
                     kubecnn::testing::ReadFile(entry.path().string()));
  }
  const std::string args = TrainArgs("s3://tls-bucket/shards");
  const std::string keys = "AWS_ACCESS_KEY_ID=" + account.access_key + " AWS_SECRET_ACCESS_KEY=" + account.secret_key;
  const auto run = [&](const std::string& ca_bundle) {
    return kubecnn::testing::RunCommand("env -u AWS_PROFILE " + keys +
                                        " AWS_ENDPOINT_URL_S3=" + env["S3_TLS_ENDPOINT"] + " AWS_MAX_ATTEMPTS=2 " +
                                        (ca_bundle.empty() ? "" : "AWS_CA_BUNDLE=" + ca_bundle + " ") +
                                        KUBECNN_BINARY_DIR "/trainer/kubecnn-trainer " + args);
  };
  const Outcome trusted = run(tls / "ca.pem");
  EXPECT_EQ(trusted.exit_code, 0) << trusted.output;
  const Outcome untrusted = run("");
  EXPECT_EQ(untrusted.exit_code, 2) << untrusted.output;
  EXPECT_NE(untrusted.output.find("AWS_CA_BUNDLE"), std::string::npos) << untrusted.output;
  const Outcome wrong_ca = run(tls / "other-ca.pem");
  EXPECT_EQ(wrong_ca.exit_code, 2) << wrong_ca.output;
  for (const Outcome* o : {&trusted, &untrusted, &wrong_ca}) {
    EXPECT_EQ(o->output.find(account.secret_key), std::string::npos) << o->output;
  }
}

}  // namespace

// Tests of s3_config: endpoint, region and credentials resolved from the environment as the AWS
// tools resolve them, with errors that say what is missing and never a secret.
#include "trainer/storage/s3_config.h"

#include <gtest/gtest.h>

#include <map>

#include "trainer/storage/storage.h"

namespace kubecnn::storage {
namespace {

using Env = std::map<std::string, std::string>;

S3Config Resolve(const Env& env, const std::map<std::string, std::string>& files = {}) {
  return ResolveS3Config(
      [&](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      [&](const std::string& path) -> std::optional<std::string> {
        auto it = files.find(path);
        if (it == files.end()) return std::nullopt;
        return it->second;
      });
}

std::string ErrorOf(const Env& env, const std::map<std::string, std::string>& files = {}) {
  try {
    Resolve(env, files);
  } catch (const StorageError& e) {
    return e.what();
  }
  return "";
}

const Env kKeys = {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", "s3cr3t-value"}};

TEST(S3Config, AwsDefaultsAreVirtualHostedInTheRegion) {
  Env env = kKeys;
  env["AWS_REGION"] = "eu-west-1";
  const S3Config c = Resolve(env);
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.endpoint, "https://s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(c.path_style);
  EXPECT_EQ(c.credentials.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(c.credentials.source, "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
}

TEST(S3Config, RegionFallsBackToDefaultRegionThenUsEast1) {
  Env env = kKeys;
  EXPECT_EQ(Resolve(env).region, "us-east-1");
  env["AWS_DEFAULT_REGION"] = "ap-south-1";
  EXPECT_EQ(Resolve(env).region, "ap-south-1");
  env["AWS_REGION"] = "us-west-2";
  EXPECT_EQ(Resolve(env).region, "us-west-2");
}

TEST(S3Config, ServiceEndpointWinsOverTheGeneralOneAndIsPathStyle) {
  Env env = kKeys;
  env["AWS_ENDPOINT_URL"] = "http://general:80";
  EXPECT_EQ(Resolve(env).endpoint, "http://general:80");
  env["AWS_ENDPOINT_URL_S3"] = "http://rook-ceph-rgw.rook-ceph:80/";
  const S3Config c = Resolve(env);
  EXPECT_EQ(c.endpoint, "http://rook-ceph-rgw.rook-ceph:80");
  EXPECT_TRUE(c.path_style);
}

TEST(S3Config, SessionTokenAndRetriesAndStallTimeout) {
  Env env = kKeys;
  env["AWS_SESSION_TOKEN"] = "tok";
  env["AWS_MAX_ATTEMPTS"] = "3";
  env["KUBECNN_S3_STALL_TIMEOUT_SECONDS"] = "2";
  const S3Config c = Resolve(env);
  EXPECT_EQ(c.credentials.session_token, "tok");
  EXPECT_EQ(c.max_attempts, 3);
  EXPECT_EQ(c.stall_timeout_seconds, 2);
  EXPECT_EQ(c.connect_timeout_seconds, 2);
}

TEST(S3Config, SharedCredentialsFileProfile) {
  const std::string file =
      "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = d\n\n[train]\n"
      "aws_access_key_id=AKTRAIN\naws_secret_access_key=t\naws_session_token = st\n";
  Env env = {{"HOME", "/home/u"}, {"AWS_PROFILE", "train"}};
  const S3Config c = Resolve(env, {{"/home/u/.aws/credentials", file}});
  EXPECT_EQ(c.credentials.access_key_id, "AKTRAIN");
  EXPECT_EQ(c.credentials.session_token, "st");
  EXPECT_EQ(c.credentials.source, "shared credentials file /home/u/.aws/credentials (profile train)");
  env = {{"AWS_SHARED_CREDENTIALS_FILE", "/etc/creds"}};
  EXPECT_EQ(Resolve(env, {{"/etc/creds", file}}).credentials.access_key_id, "AKDEFAULT");
}

TEST(S3Config, WebIdentityComesAfterTheEnvironmentsKeysAndBeforeTheCredentialsFile) {
  Env env = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
             {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/imagenet-reader"},
             {"AWS_REGION", "eu-central-1"},
             {"HOME", "/home/u"}};
  const std::map<std::string, std::string> files = {
      {"/home/u/.aws/credentials", "[default]\naws_access_key_id=AKFILE\naws_secret_access_key=f\n"}};
  S3Config c = Resolve(env, files);
  ASSERT_TRUE(c.web_identity);
  EXPECT_EQ(c.web_identity->sts_endpoint, "https://sts.eu-central-1.amazonaws.com");
  EXPECT_EQ(c.web_identity->session_name, "kubecnn-trainer");
  EXPECT_TRUE(c.credentials.access_key_id.empty());
  EXPECT_EQ(c.credentials.source,
            "web identity token /var/run/secrets/eks.amazonaws.com/serviceaccount/token (role "
            "arn:aws:iam::123456789012:role/imagenet-reader)");
  env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:9/";
  env["AWS_ROLE_SESSION_NAME"] = "job-7";
  c = Resolve(env, files);
  EXPECT_EQ(c.web_identity->sts_endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(c.web_identity->session_name, "job-7");
  env.insert(kKeys.begin(), kKeys.end());  // keys in the environment win
  c = Resolve(env, files);
  EXPECT_FALSE(c.web_identity);
  EXPECT_EQ(c.credentials.access_key_id, "AKIDEXAMPLE");
}

TEST(S3Config, ErrorsSayWhatIsMissingAndNeverTheSecret) {
  EXPECT_NE(ErrorOf({{"AWS_SECRET_ACCESS_KEY", "s3cr3t-value"}}).find("AWS_ACCESS_KEY_ID is not"), std::string::npos);
  EXPECT_EQ(ErrorOf({{"AWS_SECRET_ACCESS_KEY", "s3cr3t-value"}}).find("s3cr3t-value"), std::string::npos);
  EXPECT_NE(ErrorOf({{"AWS_ACCESS_KEY_ID", "AK"}}).find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos);
  const std::string none = ErrorOf({{"HOME", "/home/u"}});
  EXPECT_NE(none.find("no S3 credentials"), std::string::npos) << none;
  EXPECT_NE(none.find("/home/u/.aws/credentials"), std::string::npos) << none;
  EXPECT_NE(
      ErrorOf({{"HOME", "/h"}, {"AWS_PROFILE", "x"}}, {{"/h/.aws/credentials", "[default]\n"}}).find("no profile [x]"),
      std::string::npos);
  EXPECT_NE(ErrorOf({{"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"}}).find("AWS_ROLE_ARN is not"),
            std::string::npos);
  EXPECT_NE(none.find("web identity"), std::string::npos) << none;
  Env env = kKeys;
  env["AWS_ENDPOINT_URL_S3"] = "rgw:80";
  EXPECT_NE(ErrorOf(env).find("is not an http:// or https:// URL"), std::string::npos);
  env = kKeys;
  env["AWS_CA_BUNDLE"] = "/nonexistent/ca.pem";
  EXPECT_NE(ErrorOf(env).find("cannot be read"), std::string::npos);
  env = kKeys;
  env["AWS_MAX_ATTEMPTS"] = "zero";
  EXPECT_NE(ErrorOf(env).find("AWS_MAX_ATTEMPTS=zero"), std::string::npos);
}

}  // namespace
}  // namespace kubecnn::storage

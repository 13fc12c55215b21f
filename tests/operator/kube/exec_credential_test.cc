// Exec credential plugins: the reply's parsing (table), KUBERNETES_EXEC_INFO, and real plugin
// processes (shell scripts written by the test): token and expiry, env, failures in one line that
// name the user and the command and never the token, kubectl's installHint.
#include "operator/kube/exec_credential.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_files.h"

namespace kubecnn::kube {
namespace {

constexpr const char* kSecret = "s3cr3t-token-value";

ExecConfig Plugin(const std::string& command, std::vector<std::string> args = {}) {
  ExecConfig exec;
  exec.user = "eks-admin";
  exec.api_version = "client.authentication.k8s.io/v1beta1";
  exec.command = command;
  exec.args = std::move(args);
  return exec;
}

std::string WriteScript(const testing::ScratchDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir / name;
  testing::WriteFile(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  return path;
}

std::string ErrorOf(const std::function<void()>& run) {
  try {
    run();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(ExecCredential, ParsesTokenCertificateAndExpiry) {
  const ExecConfig exec = Plugin("aws");
  const ExecCredential full = ParseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t",)"
      R"("clientCertificateData":"CERT","clientKeyData":"KEY","expirationTimestamp":"2026-05-01T12:00:00Z"}})",
      exec);
  EXPECT_EQ(full.token, "t");
  EXPECT_EQ(full.client_cert_pem, "CERT");
  EXPECT_EQ(full.client_key_pem, "KEY");
  ASSERT_TRUE(full.expiry.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*full.expiry), 1777636800);
  const ExecCredential forever = ParseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}})", exec);
  EXPECT_FALSE(forever.expiry.has_value()) << "no expirationTimestamp: kept until a 401";
}

TEST(ExecCredential, Rfc3339AcceptsFractionsAndOffsets) {
  const struct {
    std::string text;
    std::optional<time_t> seconds;
  } cases[] = {
      {"2026-05-01T12:00:00Z", 1777636800},
      {"2026-05-01T12:00:00.123456Z", 1777636800},
      {"2026-05-01T14:00:00+02:00", 1777636800},
      {"2026-05-01T10:30:00-01:30", 1777636800},
      {"2026-05-01 12:00:00", std::nullopt},
      {"2026-05-01T12:00:00", std::nullopt},
      {"tomorrow", std::nullopt},
  };
  for (const auto& c : cases) {
    const std::optional<WallTime> t = ParseRfc3339(c.text);
    ASSERT_EQ(t.has_value(), c.seconds.has_value()) << c.text;
    if (t) {
      EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), *c.seconds) << c.text;
    }
  }
}

TEST(ExecCredential, BadRepliesNameUserAndCommandButNeverTheOutput) {
  const ExecConfig exec = Plugin("aws", {"eks", "get-token", "--cluster-name", "prod"});
  const std::string s = kSecret;
  const struct {
    std::string reply;
    std::string expected;
  } cases[] = {
      {"token=" + s, "printed no ExecCredential JSON"},
      {"{\"token\": \"" + s + "\"", "printed no ExecCredential JSON"},  // truncated: the parser would quote it
      {R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":")" + s + "\"}}",
       "expected kind \"ExecCredential\" apiVersion \"client.authentication.k8s.io/v1beta1\""},
      {R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{}})",
       "neither status.token nor status.clientCertificateData"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":")" + s +
           R"(","expirationTimestamp":"soon"}})",
       "expirationTimestamp \"soon\", which is not an RFC 3339 time"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":")" + s +
           R"(","clientKeyData":"KEY"}})",
       "clientCertificateData without clientKeyData"},
  };
  for (const auto& c : cases) {
    const std::string error = ErrorOf([&] { ParseExecCredential(c.reply, exec); });
    EXPECT_TRUE(Has(error, "kubeconfig user \"eks-admin\": exec plugin `aws eks get-token --cluster-name prod`"))
        << error;
    EXPECT_TRUE(Has(error, c.expected)) << error;
    EXPECT_FALSE(Has(error, kSecret)) << error;
    EXPECT_FALSE(Has(error, "\n")) << error;
  }
}

TEST(ExecCredential, ExecInfoIsNonInteractiveAndCarriesTheClusterOnlyWhenAsked) {
  ExecConfig exec = Plugin("gke-gcloud-auth-plugin");
  exec.api_version = "client.authentication.k8s.io/v1";
  exec.cluster_server = "https://k:6443";
  exec.cluster_ca_pem = "CA";
  nlohmann::json info = nlohmann::json::parse(ExecInfoJson(exec));
  EXPECT_EQ(info, nlohmann::json::parse(R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
                                        R"("spec":{"interactive":false}})"));
  exec.provide_cluster_info = true;
  info = nlohmann::json::parse(ExecInfoJson(exec));
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://k:6443");
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"], "Q0E=");
}

TEST(ExecCredential, RunsThePluginWithItsArgsEnvAndExecInfo) {
  testing::ScratchDir dir;
  // Echoes back what it was given, inside the token, so the test sees args, env and exec info.
  const std::string script = WriteScript(dir, "plugin.sh", R"(
info=$(printf '%s' "$KUBERNETES_EXEC_INFO" | tr -d '"{}: ' )
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s|%s|%s","expirationTimestamp":"2030-01-02T03:04:05Z"}}' "$1$2" "$REGION" "$info"
)");
  ExecConfig exec = Plugin(script, {"get", "-token"});
  exec.env = {{"REGION", "eu-west-1"}};
  const ExecCredential credential = RunExecPlugin(exec);
  EXPECT_EQ(
      credential.token,
      "get-token|eu-west-1|apiVersionclient.authentication.k8s.io/v1beta1,kindExecCredential,specinteractivefalse");
  ASSERT_TRUE(credential.expiry.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*credential.expiry), 1893553445);
}

TEST(ExecCredential, AFailingPluginGivesOneLineWithItsExitCodeAndLastWords) {
  testing::ScratchDir dir;
  const std::string script =
      WriteScript(dir, "fails.sh",
                  std::string("echo '") + kSecret + "'\n" +
                      "echo 'refreshing...' >&2\necho 'Unable to locate credentials' >&2\nexit 3\n");
  const std::string error = ErrorOf([&] { RunExecPlugin(Plugin(script, {"--profile", "dev"})); });
  EXPECT_EQ(error, "kubeconfig user \"eks-admin\": exec plugin `" + script +
                       " --profile dev` failed with exit code 3: Unable to locate credentials");
  const std::string garbage = WriteScript(dir, "garbage.sh", std::string("echo 'token: ") + kSecret + "'\n");
  const std::string garbage_error = ErrorOf([&] { RunExecPlugin(Plugin(garbage)); });
  EXPECT_TRUE(Has(garbage_error, "printed no ExecCredential JSON")) << garbage_error;
  EXPECT_FALSE(Has(garbage_error, kSecret)) << garbage_error;
}

TEST(ExecCredential, AMissingCommandShowsItsInstallHintAsKubectl) {
  ExecConfig exec = Plugin("kubecnn-no-such-auth-plugin");
  exec.install_hint = "Install it with: apt-get install kubecnn-auth";
  const std::string error = ErrorOf([&] { RunExecPlugin(exec); });
  EXPECT_TRUE(Has(error, "kubeconfig user \"eks-admin\": exec plugin `kubecnn-no-such-auth-plugin`")) << error;
  EXPECT_TRUE(Has(error, "executable kubecnn-no-such-auth-plugin not found\n\nInstall it with: apt-get install"))
      << error;
  exec.install_hint.clear();
  EXPECT_TRUE(Has(ErrorOf([&] { RunExecPlugin(exec); }), "not found (is it installed and on PATH?)"));
}

}  // namespace
}  // namespace kubecnn::kube

// Kubeconfig parsing, in-cluster configuration, the choice between them, and token rotation.
#include "operator/kube/kubeconfig.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "tests/support/test_files.h"

namespace kubecnn::kube {
namespace {

const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443/
    certificate-authority-data: Q0EtUEVN
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
    certificate-authority: certs/ca.pem
    insecure-skip-tls-verify: true
users:
- name: dev-user
  user:
    token: dev-token
- name: prod-user
  user:
    client-certificate: /abs/client.pem
    client-key-data: S0VZ
    tokenFile: token
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
)";

struct FakeFiles {
  std::map<std::string, std::string> files;
  std::vector<std::string> reads;
  FileReader Reader() {
    return [this](const std::string& path) {
      reads.push_back(path);
      auto it = files.find(path);
      if (it == files.end()) throw std::runtime_error("cannot read " + path);
      return it->second;
    };
  }
};

TEST(Kubeconfig, UsesTheCurrentContextsClusterUserAndNamespace) {
  FakeFiles fs;
  const RestConfig rc = ParseKubeconfig(kKubeconfig, "/home/u/.kube/config", "", fs.Reader());
  EXPECT_EQ(rc.server, "https://dev.example:6443") << "a trailing slash would double up in paths";
  EXPECT_EQ(rc.ca_pem, "CA-PEM");
  EXPECT_EQ(rc.bearer_token, "dev-token");
  EXPECT_EQ(rc.default_namespace, "team-a");
  EXPECT_FALSE(rc.insecure_skip_tls_verify);
  EXPECT_TRUE(fs.reads.empty());
}

TEST(Kubeconfig, ResolvesFilesRelativeToTheKubeconfigAndHonoursAContextOverride) {
  FakeFiles fs;
  fs.files = {{"/home/u/.kube/certs/ca.pem", "CA"}, {"/abs/client.pem", "CERT"}};
  const RestConfig rc = ParseKubeconfig(kKubeconfig, "/home/u/.kube/config", "prod", fs.Reader());
  EXPECT_EQ(rc.server, "https://prod.example:6443");
  EXPECT_EQ(rc.ca_pem, "CA");
  EXPECT_TRUE(rc.insecure_skip_tls_verify);
  EXPECT_EQ(rc.client_cert_pem, "CERT");
  EXPECT_EQ(rc.client_key_pem, "KEY");
  EXPECT_EQ(rc.token_file, "/home/u/.kube/token");
  EXPECT_EQ(rc.default_namespace, "default");
}

TEST(Kubeconfig, ExplainsWhatIsMissingOrUnsupported) {
  FakeFiles fs;
  auto error_of = [&](const std::string& yaml, const std::string& context) {
    try {
      ParseKubeconfig(yaml, "/k", context, fs.Reader());
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(kKubeconfig, "staging").find("context \"staging\" is not defined"), std::string::npos);
  EXPECT_NE(error_of("clusters: []\n", "").find("no current-context"), std::string::npos);
  const std::string exec = R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {exec: {command: aws}}}]
)";
  EXPECT_NE(error_of(exec, "").find("exec or auth-provider plugin"), std::string::npos);
  const std::string no_cluster = "current-context: c\ncontexts: [{name: c, context: {cluster: gone}}]\n";
  EXPECT_NE(error_of(no_cluster, "").find("cluster \"gone\""), std::string::npos);
  EXPECT_NE(error_of("a: [unclosed", "").find("YAML syntax error"), std::string::npos);
}

TEST(Kubeconfig, InClusterReadsTheServiceAccount) {
  FakeFiles fs;
  fs.files = {{"/sa/ca.crt", "CA"}, {"/sa/namespace", "operators\n"}};
  RestConfig rc = InClusterConfig("10.96.0.1", "443", "/sa", fs.Reader());
  EXPECT_EQ(rc.server, "https://10.96.0.1:443");
  EXPECT_EQ(rc.token_file, "/sa/token") << "the token is read per request so rotation is seen";
  EXPECT_EQ(rc.ca_pem, "CA");
  EXPECT_EQ(rc.default_namespace, "operators");
  EXPECT_EQ(InClusterConfig("fd00::1", "443", "/sa", fs.Reader()).server, "https://[fd00::1]:443");
  EXPECT_THROW(InClusterConfig("", "", "/sa", fs.Reader()), std::runtime_error);
}

TEST(Kubeconfig, ChoosesFlagThenKubeconfigEnvThenInCluster) {
  auto exists = [](const std::string& p) { return p == "/b" || p == "/c"; };
  struct Case {
    std::string flag, env;
    bool in_cluster;
    ConfigSource source;
    std::string path;
  };
  const Case cases[] = {
      {"/flag", "/b", true, ConfigSource::kFlag, "/flag"},
      {"", "/a:/b:/c", true, ConfigSource::kEnvironment, "/b"},  // first existing file
      {"", "/a", true, ConfigSource::kInCluster, ""},
      {"", "", true, ConfigSource::kInCluster, ""},
      {"", "", false, ConfigSource::kNone, ""},
  };
  for (const Case& c : cases) {
    const ConfigChoice choice = ChooseConfigSource(c.flag, c.env, c.in_cluster, exists);
    EXPECT_EQ(choice.source, c.source) << c.flag << "|" << c.env;
    EXPECT_EQ(choice.path, c.path) << c.flag << "|" << c.env;
  }
}

TEST(TokenSource, RereadsTheFileWhenItChanges) {
  testing::ScratchDir dir;
  const std::string path = dir / "token";
  testing::WriteFile(path, "first\n");
  TokenSource tokens("", path);
  EXPECT_EQ(tokens.Token(), "first");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a distinct mtime
  testing::WriteFile(path, "second-token");
  EXPECT_EQ(tokens.Token(), "second-token");
  EXPECT_EQ(TokenSource("fixed", "").Token(), "fixed");
  EXPECT_THROW(TokenSource("", dir / "missing").Token(), std::runtime_error);
}

}  // namespace
}  // namespace kubecnn::kube

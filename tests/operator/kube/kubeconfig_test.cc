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
  const std::string auth_provider = R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {auth-provider: {name: gcp}}}]
)";
  EXPECT_NE(error_of(auth_provider, "").find("user \"u\" uses auth-provider \"gcp\", which kubectl no longer runs"),
            std::string::npos);
  const std::string old_exec = R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: aws}}}]
)";
  EXPECT_NE(error_of(old_exec, "").find("v1alpha1 was removed"), std::string::npos);
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

TEST(Kubeconfig, ChoosesFlagThenKubeconfigEnvThenInClusterThenHome) {
  auto exists = [](const std::string& p) { return p == "/b" || p == "/c" || p == "/home/u/.kube/config"; };
  struct Case {
    std::string flag, env;
    bool in_cluster;
    std::string home;
    ConfigSource source;
    std::vector<std::string> paths;
  };
  const Case cases[] = {
      {"/flag", "/b", true, "/home/u", ConfigSource::kFlag, {"/flag"}},
      {"", "/a:/b:/c", true, "/home/u", ConfigSource::kEnvironment, {"/b", "/c"}},   // every existing file, in order
      {"", "/c::/b:/c", true, "/home/u", ConfigSource::kEnvironment, {"/c", "/b"}},  // each once
      {"", "/a", true, "/home/u", ConfigSource::kInCluster, {}},
      {"", "", true, "/home/u", ConfigSource::kInCluster, {}},  // in a pod, its own account wins
      {"", "", false, "/home/u", ConfigSource::kHome, {"/home/u/.kube/config"}},
      {"", "/a", false, "/home/u", ConfigSource::kNone, {}},  // a set KUBECONFIG replaces ~/.kube/config
      {"", "", false, "/home/v", ConfigSource::kNone, {}},    // no such file
      {"", "", false, "", ConfigSource::kNone, {}},           // no $HOME
  };
  for (const Case& c : cases) {
    const ConfigChoice choice = ChooseConfigSource(c.flag, c.env, c.in_cluster, c.home, exists);
    EXPECT_EQ(choice.source, c.source) << c.flag << "|" << c.env << "|" << c.home;
    EXPECT_EQ(choice.paths, c.paths) << c.flag << "|" << c.env << "|" << c.home;
  }
}

// A command a person types chooses as kubectl does: ~/.kube/config before the pod's own account.
TEST(Kubeconfig, KubectlsOrderTakesTheHomeFileBeforeInCluster) {
  auto exists = [](const std::string& p) { return p == "/b" || p == "/c" || p == "/home/u/.kube/config"; };
  const auto choose = [&](const std::string& flag, const std::string& env, bool in_cluster, const std::string& home) {
    return ChooseConfigSource(flag, env, in_cluster, home, exists, ConfigOrder::kKubectl);
  };
  using Paths = std::vector<std::string>;
  EXPECT_EQ(choose("/missing", "/b", true, "/home/u").paths, Paths{"/missing"}) << "the flag, even when missing";
  EXPECT_EQ(choose("", "/a:/b:/c", true, "/home/u").paths, (Paths{"/b", "/c"})) << "every file that exists";
  EXPECT_EQ(choose("", "::/c:/b:/c", false, "/home/u").paths, (Paths{"/c", "/b"})) << "each once, in order";
  EXPECT_EQ(choose("", "", true, "/home/u").source, ConfigSource::kHome);
  EXPECT_EQ(choose("", "", true, "/home/u").paths, Paths{"/home/u/.kube/config"});
  EXPECT_EQ(choose("", "", true, "/home/v").source, ConfigSource::kInCluster);
  EXPECT_EQ(choose("", "/a", true, "/home/u").source, ConfigSource::kInCluster)
      << "a set KUBECONFIG hides the home file";
  EXPECT_EQ(choose("", "/a", false, "/home/u").source, ConfigSource::kNone);
  EXPECT_EQ(choose("", "", false, "").source, ConfigSource::kNone);
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

// Three files as in kubectl's docs on merging: the first to set a value wins, named entries whole.
TEST(Kubeconfig, MergesSeveralFilesAsKubectl) {
  const std::string first = R"(users:
- name: shared
  user: {tokenFile: tokens/first}
contexts:
- name: work
  context: {cluster: prod, user: shared, namespace: from-first}
)";
  const std::string second = R"(current-context: work
clusters:
- name: prod
  cluster: {server: "https://prod:6443", certificate-authority: ca.pem}
users:
- name: shared
  user: {token: second-token, client-certificate: c.pem, client-key: k.pem}
contexts:
- name: work
  context: {cluster: other, user: other}
- name: play
  context: {cluster: prod, user: shared}
)";
  const std::string third = "current-context: play\nclusters:\n- name: prod\n  cluster: {server: 'https://third'}\n";
  FakeFiles fs;
  fs.files = {{"/etc/kube/ca.pem", "CA"}};
  const std::vector<KubeconfigFile> files = {
      {"/home/u/.kube/first", first}, {"/etc/kube/second", second}, {"/third", third}, {"/empty", ""}};
  const RestConfig rc = ParseKubeconfigs(files, "", fs.Reader());
  EXPECT_EQ(rc.server, "https://prod:6443") << "the first file to define cluster prod wins";
  EXPECT_EQ(rc.ca_pem, "CA") << "relative to the file that defined the cluster";
  EXPECT_EQ(rc.token_file, "/home/u/.kube/tokens/first") << "relative to the file that defined the user";
  EXPECT_EQ(rc.bearer_token, "") << "the first file's user whole: nothing of the second's user is merged in";
  EXPECT_EQ(rc.client_cert_pem, "");
  EXPECT_EQ(rc.default_namespace, "from-first");
  EXPECT_EQ(rc.source, "kubeconfig /home/u/.kube/first:/etc/kube/second:/third:/empty, context work");
  EXPECT_EQ(ParseKubeconfigs(files, "play", fs.Reader()).default_namespace, "default");
  try {
    ParseKubeconfigs({{"/a", first}, {"/b", "clusters: [unclosed"}}, "", fs.Reader());
    FAIL() << "a file that does not parse is an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("kubeconfig /b: "), std::string::npos) << e.what();
  }
}

TEST(Kubeconfig, ReadsAnExecUser) {
  const std::string yaml = R"(current-context: eks
clusters: [{name: k, cluster: {server: "https://k", certificate-authority-data: Q0E=}}]
contexts: [{name: eks, context: {cluster: k, user: eks-admin}}]
users:
- name: eks-admin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env: [{name: AWS_PROFILE, value: dev}]
      installHint: install the AWS CLI
      provideClusterInfo: true
      interactiveMode: IfAvailable
- name: local
  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/auth, interactiveMode: Never}}
- name: needs-terminal
  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: auth, interactiveMode: Always}}
)";
  FakeFiles fs;
  const RestConfig rc = ParseKubeconfig(yaml, "/home/u/.kube/config", "", fs.Reader());
  ASSERT_TRUE(rc.exec.has_value());
  EXPECT_EQ(rc.exec->user, "eks-admin");
  EXPECT_EQ(rc.exec->api_version, "client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(rc.exec->command, "aws") << "a bare name is looked up on PATH";
  EXPECT_EQ(rc.exec->args, (std::vector<std::string>{"eks", "get-token", "--cluster-name", "prod"}));
  EXPECT_EQ(rc.exec->env, (std::vector<std::pair<std::string, std::string>>{{"AWS_PROFILE", "dev"}}));
  EXPECT_EQ(rc.exec->install_hint, "install the AWS CLI");
  EXPECT_TRUE(rc.exec->provide_cluster_info);
  EXPECT_EQ(rc.exec->cluster_server, "https://k");
  EXPECT_EQ(rc.exec->cluster_ca_pem, "CA");
  const std::string with_context =
      std::string(yaml).replace(yaml.find("contexts: ["), 11,
                                "contexts: [{name: l, context: {cluster: k, user: local}}, "
                                "{name: t, context: {cluster: k, user: needs-terminal}}, ");
  EXPECT_EQ(ParseKubeconfig(with_context, "/home/u/.kube/config", "l", fs.Reader()).exec->command,
            "/home/u/.kube/./bin/auth")
      << "a command with a '/' is relative to the kubeconfig, as in client-go";
  EXPECT_THROW(ParseKubeconfig(with_context, "/k", "t", fs.Reader()), std::invalid_argument);
}

TEST(TokenSource, KeepsAnExecTokenUntilItExpiresOrIsRefused) {
  RestConfig rc;
  rc.exec = ExecConfig{};
  rc.exec->user = "u";
  rc.exec->command = "plugin";
  const WallTime t0 = std::chrono::system_clock::from_time_t(1777636800);
  WallTime now = t0;
  int runs = 0;
  auto run = [&](const ExecConfig&) {
    ++runs;
    return ExecCredential{"token-" + std::to_string(runs), "", "", now + std::chrono::minutes(15)};
  };
  TokenSource tokens(rc, run, [&] { return now; });
  EXPECT_TRUE(tokens.Refreshable());
  EXPECT_EQ(tokens.Token(), "token-1");
  now = t0 + std::chrono::minutes(14);
  EXPECT_EQ(tokens.Token(), "token-1") << "cached until it expires";
  EXPECT_EQ(runs, 1);
  now = t0 + std::chrono::minutes(15);
  EXPECT_EQ(tokens.Token(), "token-2") << "expired: the plugin runs again";
  tokens.Invalidate();  // a 401
  EXPECT_EQ(tokens.Token(), "token-3");
  EXPECT_EQ(runs, 3);
  EXPECT_FALSE(TokenSource(RestConfig{}).Refreshable());
}

TEST(TokenSource, AnExecPluginGivingOnlyACertificateIsRefusedClearly) {
  RestConfig rc;
  rc.exec = ExecConfig{};
  rc.exec->user = "u";
  rc.exec->command = "plugin";
  TokenSource tokens(rc, [](const ExecConfig&) { return ExecCredential{"", "CERT", "KEY", std::nullopt}; });
  try {
    tokens.Token();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("returned only a client certificate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kubecnn::kube

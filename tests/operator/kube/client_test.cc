// The REST client against the fake API server: verbs, errors, paging, retries, rate limit,
// credentials and TLS.
#include "operator/kube/client.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "operator/kube/api_error.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_files.h"

namespace kubecnn::kube {
namespace {

using nlohmann::json;
using testing::FakeApiServer;
using testing::FakeApiServerOptions;

RestConfig ConfigFor(const FakeApiServer& server) {
  RestConfig rc;
  rc.server = server.url();
  rc.qps = 0;  // unlimited unless a test says otherwise
  rc.timeout = std::chrono::seconds(10);
  rc.source = "test";
  return rc;
}

json ConfigMap(const std::string& name, json labels = json::object()) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"labels", labels}}}, {"data", {{"k", "v"}}}};
}

json Job(const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}}}, {"spec", {{"workers", 2}}}};
}

TEST(Client, CreatesGetsUpdatesAndDeletes) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  const json created = client.Create(resources::kConfigMaps, "ns", ConfigMap("a"));
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());
  json got = client.Get(resources::kConfigMaps, "ns", "a");
  EXPECT_EQ(got, created);
  got["data"]["k"] = "changed";
  const json updated = client.Update(resources::kConfigMaps, got);
  EXPECT_EQ(updated["data"]["k"], "changed");
  EXPECT_NE(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
  client.Delete(resources::kConfigMaps, "ns", "a");
  EXPECT_THROW(client.Get(resources::kConfigMaps, "ns", "a"), ApiError);
}

TEST(Client, ApiErrorsCarryTheServerStatusAndAHint) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  try {
    client.Get(resources::kPods, "ns", "missing");
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 404);
    EXPECT_EQ(e.reason(), "NotFound");
    EXPECT_EQ(e.server_message(), "pods \"missing\" not found");
    const std::string what = e.what();
    EXPECT_NE(what.find("GET /api/v1/namespaces/ns/pods/missing"), std::string::npos) << what;
    EXPECT_NE(what.find("check the namespace"), std::string::npos) << what;
    EXPECT_TRUE(IsNotFound(e));
  }
  client.Create(resources::kConfigMaps, "ns", ConfigMap("a"));
  try {
    client.Create(resources::kConfigMaps, "ns", ConfigMap("a"));
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsAlreadyExists(e));
    EXPECT_FALSE(IsConflict(e));
  }
  try {
    client.Create(resources::kConfigMaps, "ns", ConfigMap("Not_Valid"));
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsInvalid(e));
    EXPECT_NE(std::string(e.what()).find("metadata.name: Invalid value"), std::string::npos) << e.what();
  }
}

TEST(Client, UpdateWithAStaleResourceVersionIsAConflict) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  const json first = client.Create(resources::kConfigMaps, "ns", ConfigMap("a"));
  json fresh = first;
  fresh["data"]["k"] = "1";
  client.Update(resources::kConfigMaps, fresh);
  json stale = first;
  stale["data"]["k"] = "2";
  try {
    client.Update(resources::kConfigMaps, stale);
    FAIL() << "a stale update went through";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsConflict(e)) << e.what();
  }
}

TEST(Client, ListAllFollowsContinueTokensAcrossPages) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  for (int i = 0; i < 25; ++i) client.Create(resources::kConfigMaps, "ns", ConfigMap("cm-" + std::to_string(i)));
  server.ClearRequests();
  ListOptions options;
  options.limit = 10;
  const ObjectList all = client.ListAll(resources::kConfigMaps, "ns", options);
  EXPECT_EQ(all.items.size(), 25u);
  EXPECT_FALSE(all.resource_version.empty());
  EXPECT_EQ(all.items[0]["kind"], "ConfigMap") << "list items get their kind back";
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].query.at("limit"), "10");
  EXPECT_EQ(requests[0].query.count("continue"), 0u);
  EXPECT_EQ(requests[2].query.count("continue"), 1u);
}

TEST(Client, SelectorsReachTheServer) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  client.Create(resources::kConfigMaps, "ns", ConfigMap("web", {{"app", "web"}}));
  client.Create(resources::kConfigMaps, "ns", ConfigMap("db", {{"app", "db"}}));
  client.Create(resources::kConfigMaps, "ns", ConfigMap("none"));
  ListOptions options;
  options.label_selector = "app in (web,db),app!=db";
  ObjectList list = client.List(resources::kConfigMaps, "ns", options);
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0]["metadata"]["name"], "web");
  options = {};
  options.field_selector = "metadata.name=none";
  list = client.List(resources::kConfigMaps, "", options);  // all namespaces
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0]["metadata"]["name"], "none");
}

TEST(Client, StatusUpdatesAndMergePatchesUseTheirOwnPaths) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  json job = client.Create(resources::kTrainingJobs, "ns", Job("j"));
  job["status"] = {{"phase", "Running"}};
  job["spec"]["workers"] = 99;
  job = client.UpdateStatus(resources::kTrainingJobs, job);
  EXPECT_EQ(job["status"]["phase"], "Running");
  EXPECT_EQ(job["spec"]["workers"], 2);
  job = client.MergePatch(resources::kTrainingJobs, "ns", "j", {{"spec", {{"workers", 4}}}});
  EXPECT_EQ(job["spec"]["workers"], 4);
  EXPECT_EQ(job["metadata"]["generation"], 2);
  job = client.MergePatch(resources::kTrainingJobs, "ns", "j", {{"status", {{"phase", "Failed"}}}}, true);
  EXPECT_EQ(job["status"]["phase"], "Failed");
}

TEST(Client, DeletePropagationPolicyReachesTheServer) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  const json job = client.Create(resources::kTrainingJobs, "ns", Job("j"));
  json owned = ConfigMap("owned");
  owned["metadata"]["ownerReferences"] = {
      {{"apiVersion", "kubecnn.io/v1alpha1"}, {"kind", "TrainingJob"}, {"name", "j"}, {"uid", job["metadata"]["uid"]}}};
  client.Create(resources::kConfigMaps, "ns", owned);
  DeleteOptions orphan;
  orphan.propagation_policy = "Orphan";
  client.Delete(resources::kTrainingJobs, "ns", "j", orphan);
  EXPECT_NO_THROW(client.Get(resources::kConfigMaps, "ns", "owned"));
  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "not-it";
  EXPECT_THROW(client.Delete(resources::kConfigMaps, "ns", "owned", wrong_uid), ApiError);
}

TEST(Client, ClusterScopedResourcesHaveNoNamespaceInThePath) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  client.Create(resources::kNamespaces, "", {{"metadata", {{"name", "team-a"}}}});
  EXPECT_EQ(client.Get(resources::kNamespaces, "", "team-a")["status"]["phase"], "Active");
  EXPECT_EQ(server.Requests().back().path, "/api/v1/namespaces/team-a");
}

TEST(Client, ThrottlingIsRetriedAfterTheServersRetryAfter) {
  FakeApiServer server;
  testing::FakeClock clock;
  ClientOptions options;
  options.clock = &clock;
  Client client(ConfigFor(server), nullptr, options);
  client.Create(resources::kConfigMaps, "ns", ConfigMap("a"));
  server.FailNextRequests(2, 429, 3);
  EXPECT_EQ(client.Get(resources::kConfigMaps, "ns", "a")["metadata"]["name"], "a");
  const auto sleeps = clock.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], std::chrono::seconds(3));
  EXPECT_EQ(sleeps[1], std::chrono::seconds(3));
  // A write that failed with 500 and no Retry-After may have happened: not retried.
  server.FailNextRequests(1, 500, -1);
  EXPECT_THROW(client.Create(resources::kConfigMaps, "ns", ConfigMap("b")), ApiError);
  // With Retry-After the server vouches it did nothing: retried.
  server.FailNextRequests(1, 503, 1);
  EXPECT_NO_THROW(client.Create(resources::kConfigMaps, "ns", ConfigMap("c")));
  // Persistent throttling gives up after max_attempts with the server's message.
  server.FailNextRequests(100, 429, 0);
  try {
    client.Get(resources::kConfigMaps, "ns", "a");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 429);
    EXPECT_NE(std::string(e.what()).find("Too many requests"), std::string::npos);
  }
  EXPECT_EQ(client.metrics().registry()->Collect().empty(), false);
}

TEST(Client, ThrottlingWaitsInRealTime) {
  FakeApiServer server;
  Client client(ConfigFor(server));
  server.FailNextRequests(1, 429, 1);
  const auto start = std::chrono::steady_clock::now();
  client.List(resources::kPods, "ns");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
}

TEST(Client, ClientSideQpsLimitPacesRequests) {
  FakeApiServer server;
  testing::FakeClock clock;
  ClientOptions options;
  options.clock = &clock;
  RestConfig rc = ConfigFor(server);
  rc.qps = 5;
  rc.burst = 1;
  Client client(rc, nullptr, options);
  for (int i = 0; i < 6; ++i) client.List(resources::kPods, "ns");
  Duration waited{};
  for (Duration d : clock.sleeps()) waited += d;
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(waited), std::chrono::milliseconds(1000));
}

TEST(Client, RequestsTimeOutWhenTheServerStalls) {
  FakeApiServer server;
  RestConfig rc = ConfigFor(server);
  rc.timeout = std::chrono::seconds(1);
  Client client(rc);
  server.SetResponseDelay(std::chrono::milliseconds(2500));
  EXPECT_THROW(client.Create(resources::kConfigMaps, "ns", ConfigMap("slow")), TransportError);
  server.SetResponseDelay(std::chrono::milliseconds(0));
}

TEST(Client, RotatedTokenFileIsPickedUp) {
  FakeApiServer server;
  testing::ScratchDir dir;
  const std::string token_file = dir / "token";
  testing::WriteFile(token_file, "token-one\n");
  RestConfig rc = ConfigFor(server);
  rc.token_file = token_file;
  Client client(rc);
  server.RequireBearerTokens({"token-one"});
  client.List(resources::kPods, "ns");
  EXPECT_EQ(server.Requests().back().authorization, "Bearer token-one");
  // The kubelet rotates the projected token; the old one stops working.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  testing::WriteFile(token_file, "token-two\n");
  server.RequireBearerTokens({"token-two"});
  client.List(resources::kPods, "ns");
  EXPECT_EQ(server.Requests().back().authorization, "Bearer token-two");
  EXPECT_EQ(server.Requests().back().status, 200);
}

// An exec plugin (a script counting its runs): its token is kept while valid, and a 401 runs it again.
TEST(Client, ExecPluginTokenIsKeptThenFetchedAgainAfterA401) {
  FakeApiServer server;
  testing::ScratchDir dir;
  const std::string script = dir / "plugin.sh";
  testing::WriteFile(
      script,
      "#!/bin/sh\necho run >> \"$0.runs\"\nn=$(wc -l < \"$0.runs\" | tr -d ' ')\n"
      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",'\n"
      "printf '\"status\":{\"token\":\"exec-token-%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' \"$n\"\n");
  ::chmod(script.c_str(), 0755);
  RestConfig rc = ConfigFor(server);
  rc.exec = ExecConfig{};
  rc.exec->user = "exec-user";
  rc.exec->api_version = "client.authentication.k8s.io/v1";
  rc.exec->command = script;
  Client client(rc);
  server.RequireBearerTokens({"exec-token-1"});
  client.List(resources::kPods, "ns");
  client.List(resources::kPods, "ns");
  EXPECT_EQ(server.Requests().back().authorization, "Bearer exec-token-1");
  EXPECT_EQ(testing::ReadFile(script + ".runs"), "run\n") << "a valid token is not fetched again";
  server.RequireBearerTokens({"exec-token-2"});  // the credential was revoked before its expiry
  client.List(resources::kPods, "ns");
  EXPECT_EQ(server.Requests().back().authorization, "Bearer exec-token-2");
  EXPECT_EQ(server.Requests().back().status, 200);
  EXPECT_EQ(testing::ReadFile(script + ".runs"), "run\nrun\n");
}

TEST(Client, RefusedCredentialsSayWhatToCheck) {
  FakeApiServer server;
  server.RequireBearerTokens({"right"});
  RestConfig rc = ConfigFor(server);
  rc.bearer_token = "wrong";
  Client client(rc);
  try {
    client.List(resources::kPods, "ns");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 401);
    EXPECT_NE(std::string(e.what()).find("token or client certificate"), std::string::npos) << e.what();
  }
}

TEST(ClientTls, TrustsTheCaFromTheKubeconfig) {
  FakeApiServer server(FakeApiServerOptions{true});
  const RestConfig rc = ParseKubeconfig(server.Kubeconfig("token: t"), "/kubeconfig", "", ReadWholeFile);
  ASSERT_EQ(rc.server.rfind("https://", 0), 0u);
  Client client(rc);
  client.Create(resources::kConfigMaps, "ns", ConfigMap("over-tls"));
  EXPECT_EQ(client.Get(resources::kConfigMaps, "ns", "over-tls")["metadata"]["name"], "over-tls");
  EXPECT_EQ(server.Requests().back().authorization, "Bearer t");
}

TEST(ClientTls, RejectsAServerSignedByAnUnknownCa) {
  FakeApiServer server(FakeApiServerOptions{true});
  RestConfig rc = ConfigFor(server);
  rc.ca_pem = testing::GenerateTestPki().ca.cert_pem;  // some other CA
  Client client(rc);
  try {
    client.Create(resources::kConfigMaps, "ns", ConfigMap("a"));
    FAIL() << "an untrusted server was accepted";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("TLS"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(server.Requests().empty()) << "no request may reach an unverified server";
  // No CA at all: the system trust store does not know the test CA either.
  rc.ca_pem.clear();
  EXPECT_THROW(Client(rc).Create(resources::kConfigMaps, "ns", ConfigMap("a")), TransportError);
  // insecure-skip-tls-verify (tests only) connects anyway.
  rc.insecure_skip_tls_verify = true;
  EXPECT_NO_THROW(Client(rc).Create(resources::kConfigMaps, "ns", ConfigMap("a")));
}

TEST(ClientTls, AuthenticatesWithAClientCertificate) {
  FakeApiServer server(FakeApiServerOptions{true});
  server.RequireBearerTokens({"only-this"});  // or a client certificate from the cluster CA
  const std::string user = "client-certificate-data: " + testing::Base64Encode(server.pki().client.cert_pem) +
                           "\nclient-key-data: " + testing::Base64Encode(server.pki().client.key_pem);
  const RestConfig rc = ParseKubeconfig(server.Kubeconfig(user), "/kubeconfig", "", ReadWholeFile);
  Client client(rc);
  EXPECT_NO_THROW(client.List(resources::kPods, "ns"));
  EXPECT_EQ(server.Requests().back().client_cert_subject, "kubecnn-test-client");
  EXPECT_TRUE(server.Requests().back().authorization.empty());
}

TEST(ClientTls, BadPemInTheConfigIsReportedUpFront) {
  RestConfig rc;
  rc.server = "https://127.0.0.1:1";
  rc.ca_pem = "not a certificate";
  rc.source = "kubeconfig /x";
  try {
    Client client(rc);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("kubeconfig /x: the certificate-authority is not a PEM certificate"),
              std::string::npos)
        << e.what();
  }
}

// An answer over the limits fails its request, naming the limit, instead of filling memory: a
// one-shot body, and one line of a watch. Objects under them pass.
TEST(Client, AnAnswerOverTheSizeLimitsFailsTheRequestNamingTheLimit) {
  FakeApiServer server;
  ClientOptions options;
  options.limits.max_body_bytes = size_t{1} << 20;
  options.limits.max_line_bytes = size_t{1} << 20;
  Client client(ConfigFor(server), nullptr, options);
  json small = ConfigMap("small");
  small["data"]["k"] = std::string(size_t{512} << 10, 'x');
  client.Create(resources::kConfigMaps, "ns", small);
  EXPECT_EQ(client.Get(resources::kConfigMaps, "ns", "small")["data"]["k"].get<std::string>().size(),
            size_t{512} << 10);
  const ObjectList before = client.List(resources::kConfigMaps, "ns");

  json big = ConfigMap("big");
  big["data"]["k"] = std::string(size_t{3} << 19, 'x');                 // 1.5 MiB
  Client(ConfigFor(server)).Create(resources::kConfigMaps, "ns", big);  // a client with the default limits
  try {
    client.Get(resources::kConfigMaps, "ns", "big");
    ADD_FAILURE() << "a 1.5 MiB answer was taken under a 1 MiB limit";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("the answer's body is over 1 MiB"), std::string::npos) << e.what();
  }
  int gets = 0;
  for (const testing::RecordedRequest& r : server.Requests())
    gets += r.method == "GET" && r.path.find("/configmaps/big") != std::string::npos;
  EXPECT_EQ(gets, 1) << "asking again would get the same answer: no retry";
  WatchOptions from_before;
  from_before.resource_version = before.resource_version;
  from_before.timeout_seconds = 20;
  int events = 0;
  try {
    client.Watch(
        resources::kConfigMaps, "ns", from_before, [&](WatchEvent&&) { return ++events, true; }, nullptr);
    ADD_FAILURE() << "the watch ended without an error after " << events << " events";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("a line of the stream is over 1 MiB"), std::string::npos) << e.what();
  }
  EXPECT_EQ(events, 0) << "the only event after the list is the big ConfigMap's";
  EXPECT_EQ(client.Get(resources::kConfigMaps, "ns", "small")["metadata"]["name"], "small") << "the client still works";
}

}  // namespace
}  // namespace kubecnn::kube

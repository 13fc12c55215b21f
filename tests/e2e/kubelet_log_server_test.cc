// The e2e node's kubelet log API on loopback (no root, no cluster): the request parsing and tail
// tables, who may read, what each query returns, and that follow streams until the run ends.
#include "tests/e2e/kubelet_log_server.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/https_get.h"
#include "tests/support/test_files.h"
#include "tests/support/test_pki.h"

namespace kubecnn::e2e {
namespace {

TEST(KubeletLogServer, ParsesContainerLogPathsAndTheirQuery) {
  struct Case {
    std::string path;
    std::map<std::string, std::string> query;
    bool ok, not_found;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"/containerLogs/ml/job-launcher/launcher", {}, true, false, ""},
      {"/containerLogs/ml/job-launcher", {}, false, true, "404 page not found"},
      {"/containerLogs/ml/job-launcher/launcher/x", {}, false, true, "404 page not found"},
      {"/containerLogs/ml//launcher", {}, false, true, "404 page not found"},
      {"/exec/ml/p/c", {}, false, true, "404 page not found"},
      {"/containerLogs/ml/p/c",
       {{"tailLines", "-1"}},
       false,
       false,
       "tailLines must be a non-negative integer, not \"-1\""},
      {"/containerLogs/ml/p/c",
       {{"limitBytes", "x"}},
       false,
       false,
       "limitBytes must be a non-negative integer, not \"x\""},
  };
  for (const Case& c : cases) {
    std::string error;
    bool not_found = false;
    const auto request = ParseContainerLogRequest(c.path, c.query, &error, &not_found);
    EXPECT_EQ(request.has_value(), c.ok) << c.path;
    EXPECT_EQ(error, c.error) << c.path;
    if (!c.ok) {
      EXPECT_EQ(not_found, c.not_found) << c.path;
    }
  }
  std::string error;
  bool not_found = false;
  const auto request = ParseContainerLogRequest(
      "/containerLogs/ml/p/c", {{"follow", "true"}, {"previous", "true"}, {"tailLines", "5"}, {"limitBytes", "100"}},
      &error, &not_found);
  ASSERT_TRUE(request.has_value()) << error;
  EXPECT_EQ(request->ns, "ml");
  EXPECT_EQ(request->pod, "p");
  EXPECT_EQ(request->container, "c");
  EXPECT_TRUE(request->follow);
  EXPECT_TRUE(request->previous);
  EXPECT_EQ(request->tail_lines, 5);
  EXPECT_EQ(request->limit_bytes, 100);
}

TEST(KubeletLogServer, TailStartKeepsTheLastLines) {
  struct Case {
    std::string text;
    int64_t lines;
    std::string kept;
  };
  for (const Case& c : std::vector<Case>{{"a\nb\nc\n", 2, "b\nc\n"},
                                         {"a\nb\nc\n", 1, "c\n"},
                                         {"a\nb\nc\n", 3, "a\nb\nc\n"},
                                         {"a\nb\nc\n", 9, "a\nb\nc\n"},
                                         {"a\nb\nc\n", 0, ""},
                                         {"a\nb", 1, "b"},
                                         {"", 2, ""}}) {
    EXPECT_EQ(c.text.substr(TailStart(c.text, c.lines)), c.kept) << c.text << " tail " << c.lines;
  }
}

class KubeletLogServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::GenerateCa("cluster-ca");
    const testing::KeyPair serving = testing::IssueServerCert(ca_, "system:node:n1", {"127.0.0.1"}, {});
    apiserver_ = testing::IssueClientCert(ca_, "kube-apiserver-kubelet-client", {"system:masters"});
    log_path_ = dir_ / "container.log";
    testing::WriteFile(log_path_, "first run\n");
    previous_->path = log_path_;
    previous_->end = 10;
    current_->path = log_path_;
    current_->begin = 10;
    Append("line 1\nline 2\nline 3\n");
    options_.address = "127.0.0.1";
    options_.serving_cert_pem = serving.cert_pem;
    options_.serving_key_pem = serving.key_pem;
    options_.client_ca_pem = ca_.cert_pem;
    Serve();
  }

  void Serve() {
    server_.reset();
    server_ = std::make_unique<KubeletLogServer>(options_, [this](const ContainerLogRequest& r) -> LogLookup {
      if (r.pod != "p") return {404, "pod \"" + r.pod + "\" does not exist", nullptr};
      if (r.container != "c") return {404, "container \"" + r.container + "\" not found in pod \"p\"", nullptr};
      return {200, "", r.previous ? previous_ : current_};
    });
  }

  void Append(const std::string& text) { std::ofstream(log_path_, std::ios::app) << text; }

  testing::HttpsReply Get(const std::string& target, const testing::KeyPair& client) {
    return testing::HttpsGet("https://127.0.0.1:" + std::to_string(server_->port()) + target,
                             {ca_.cert_pem, client.cert_pem, client.key_pem, false});
  }

  testing::ScratchDir dir_;
  testing::KeyPair ca_, apiserver_;
  std::string log_path_;
  std::shared_ptr<ContainerRunLog> previous_ = std::make_shared<ContainerRunLog>();
  std::shared_ptr<ContainerRunLog> current_ = std::make_shared<ContainerRunLog>();
  KubeletLogServerOptions options_;
  std::unique_ptr<KubeletLogServer> server_;
};

TEST_F(KubeletLogServerTest, OnlyClientsOfItsCaInAnAuthorizedGroupReadLogs) {
  EXPECT_EQ(Get("/containerLogs/ml/p/c", {}).status, 401) << "no client certificate";
  const testing::KeyPair stranger_ca = testing::GenerateCa("another-ca");
  EXPECT_EQ(Get("/containerLogs/ml/p/c", testing::IssueClientCert(stranger_ca, "x", {"system:masters"})).status, 401)
      << "a certificate of another CA";
  const testing::HttpsReply node = Get("/containerLogs/ml/p/c", testing::IssueClientCert(ca_, "system:node:n2"));
  EXPECT_EQ(node.status, 403);
  EXPECT_EQ(node.body, "Forbidden (user=system:node:n2, verb=get, resource=nodes, subresource=proxy)\n");
  const testing::HttpsReply apiserver = Get("/containerLogs/ml/p/c", apiserver_);
  EXPECT_EQ(apiserver.status, 200) << apiserver.transport_error;
  EXPECT_EQ(apiserver.body, "line 1\nline 2\nline 3\n") << "this run's bytes only";
}

TEST_F(KubeletLogServerTest, AnswersPreviousTailLinesLimitBytesAndUnknownNamesAsTheKubelet) {
  EXPECT_EQ(Get("/containerLogs/ml/p/c?previous=true", apiserver_).body, "first run\n");
  EXPECT_EQ(Get("/containerLogs/ml/p/c?tailLines=2", apiserver_).body, "line 2\nline 3\n");
  EXPECT_EQ(Get("/containerLogs/ml/p/c?limitBytes=9", apiserver_).body, "line 1\nli");
  EXPECT_EQ(Get("/containerLogs/ml/p/c?tailLines=1&limitBytes=4", apiserver_).body, "line");
  const testing::HttpsReply pod = Get("/containerLogs/ml/q/c", apiserver_);
  EXPECT_EQ(pod.status, 404);
  EXPECT_EQ(pod.body, "pod \"q\" does not exist\n");
  const testing::HttpsReply container = Get("/containerLogs/ml/p/sidecar", apiserver_);
  EXPECT_EQ(container.status, 404);
  EXPECT_EQ(container.body, "container \"sidecar\" not found in pod \"p\"\n");
  EXPECT_EQ(Get("/containerLogs/ml/p/c?tailLines=-3", apiserver_).status, 400);
  EXPECT_EQ(Get("/stats/summary", apiserver_).status, 404);
}

TEST_F(KubeletLogServerTest, FollowStreamsAppendedBytesUntilTheRunEnds) {
  std::thread container([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Append("line 4\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Append("line 5\n");
    current_->end = 10 + 35;  // the run exits: its log ends after line 5
  });
  // Without follow, the answer is what the log held when asked, while the run goes on.
  EXPECT_EQ(Get("/containerLogs/ml/p/c", apiserver_).body, "line 1\nline 2\nline 3\n");
  const testing::HttpsReply followed = Get("/containerLogs/ml/p/c?follow=true&tailLines=1", apiserver_);
  container.join();
  EXPECT_EQ(followed.status, 200) << followed.transport_error;
  EXPECT_EQ(followed.body, "line 3\nline 4\nline 5\n");
}

TEST_F(KubeletLogServerTest, AnAnswerWithoutFollowEndsAtTheRequestDeadlineAndAFollowedOneDoesNot) {
  options_.request_deadline = std::chrono::milliseconds(0);
  Serve();
  const testing::HttpsReply cut = Get("/containerLogs/ml/p/c", apiserver_);
  EXPECT_EQ(cut.body, "");
  EXPECT_NE(cut.transport_error, "") << "the body is cut, not ended";
  current_->end = 10 + 21;
  const testing::HttpsReply followed = Get("/containerLogs/ml/p/c?follow=true", apiserver_);
  EXPECT_EQ(followed.transport_error, "");
  EXPECT_EQ(followed.body, "line 1\nline 2\nline 3\n");
}

}  // namespace
}  // namespace kubecnn::e2e

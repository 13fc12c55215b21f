// FaultProxy in front of the shared Ceph gateway: forwards faithfully, and each fault does what it says.
#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/support/s3_server.h"

namespace kubecnn::testing {
namespace {

constexpr auto kLimit = std::chrono::seconds(10);

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_WITHOUT_CEPH();
    gateway_ = &CephObjectGateway::Shared();
    bucket_ = gateway_->CreateUniqueBucket("proxy");
    for (int i = 0; i < 5000; ++i) object_ += static_cast<char>('a' + i % 26);
    gateway_->PutObject(bucket_, "object", object_);
    proxy_ = std::make_unique<FaultProxy>(gateway_->host(), gateway_->port());
  }

  S3Reply Get(const std::string& key, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return S3Request(gateway_->account().WithEndpoint(proxy_->url()), "GET", S3ObjectPath(bucket_, key), "", "",
                     timeout);
  }
  S3Reply Put(const std::string& key, const std::string& bytes) {
    return S3Request(gateway_->account().WithEndpoint(proxy_->url()), "PUT", S3ObjectPath(bucket_, key), "", bytes);
  }

  CephObjectGateway* gateway_ = nullptr;
  std::string bucket_;
  std::string object_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, ForwardsRequestsAndResponsesUnchanged) {
  const S3Reply put = Put("through-proxy", "bytes via the proxy");
  ASSERT_TRUE(put.ok()) << put.status << " " << put.transport_error << " " << put.body;
  const S3Reply get = Get("object");
  EXPECT_TRUE(get.ok()) << get.status << " " << get.transport_error;
  EXPECT_EQ(get.body, object_);
  EXPECT_EQ(get.headers.at("content-length"), std::to_string(object_.size()));
  EXPECT_EQ(gateway_->GetObject(bucket_, "through-proxy"), "bytes via the proxy");
  EXPECT_EQ(proxy_->requests_seen(), 2);
  EXPECT_EQ(proxy_->faults_injected(), 0);
}

// libcurl sends "Expect: 100-continue" before a body over 1 MiB; the proxy answers it itself.
TEST_F(FaultProxyTest, LargeUploadsWaitingForContinueGoThroughOrGetTheCannedAnswer) {
  const std::string large(3 << 20, 'L');
  const S3Reply put = Put("large", large);
  ASSERT_TRUE(put.ok()) << put.status << " " << put.transport_error << " " << put.body;
  EXPECT_EQ(gateway_->GetObject(bucket_, "large"), large);
  proxy_->FailNext(1, Fault::SlowDown());
  EXPECT_EQ(Put("large-refused", large).status, 503);
  EXPECT_EQ(gateway_->GetObject(bucket_, "large-refused"), std::nullopt);
}

TEST_F(FaultProxyTest, SlowDownAnswersTheNextRequestOnlyWithoutForwardingIt) {
  proxy_->FailNext(1, Fault::SlowDown());
  const S3Reply refused = Put("never-stored", "x");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.ErrorCode(), "SlowDown");
  EXPECT_EQ(gateway_->GetObject(bucket_, "never-stored"), std::nullopt);
  EXPECT_EQ(Get("object").body, object_);
  EXPECT_EQ(proxy_->faults_injected(), 1);
}

TEST_F(FaultProxyTest, MatchersPickTheRequestsThatFailUntilCleared) {
  gateway_->PutObject(bucket_, "fail/me", "x");
  proxy_->FailEvery(Fault::InternalError(), PathStartsWith("/" + bucket_ + "/fail/"));
  for (int i = 0; i < 2; ++i) {
    const S3Reply failed = Get("fail/me");
    EXPECT_EQ(failed.status, 500);
    EXPECT_EQ(failed.ErrorCode(), "InternalError");
  }
  EXPECT_TRUE(Get("object").ok());
  proxy_->Clear();
  EXPECT_EQ(Get("fail/me").body, "x");
  EXPECT_EQ(proxy_->requests_seen(), 4);
  EXPECT_EQ(proxy_->faults_injected(), 2);
}

TEST_F(FaultProxyTest, MethodMatcherLetsOtherMethodsThrough) {
  proxy_->FailNext(1, Fault::SlowDown(), MethodIs("PUT"));
  EXPECT_TRUE(Get("object").ok());
  EXPECT_EQ(Put("k", "v").status, 503);
  EXPECT_TRUE(Put("k", "v").ok());
}

TEST_F(FaultProxyTest, ResetAfterRequestDropsTheConnectionBeforeForwarding) {
  proxy_->FailNext(1, Fault::ResetAfterRequest());
  const S3Reply reset = Put("reset", "x");
  EXPECT_EQ(reset.status, 0);
  EXPECT_TRUE(reset.curl_code == CURLE_RECV_ERROR || reset.curl_code == CURLE_GOT_NOTHING) << reset.transport_error;
  EXPECT_EQ(gateway_->GetObject(bucket_, "reset"), std::nullopt);
}

TEST_F(FaultProxyTest, ResetAfterResponseBytesCutsTheResponseMidway) {
  proxy_->FailNext(1, Fault::ResetAfterResponseBytes(300));
  const S3Reply reset = Get("object");
  EXPECT_EQ(reset.curl_code, CURLE_RECV_ERROR) << reset.transport_error;
  EXPECT_LT(reset.body.size(), object_.size());
}

TEST_F(FaultProxyTest, TruncateBodyKeepsContentLengthAndSendsLess) {
  proxy_->FailNext(1, Fault::TruncateBody(1000));
  const S3Reply truncated = Get("object");
  EXPECT_EQ(truncated.status, 200);
  EXPECT_EQ(truncated.curl_code, CURLE_PARTIAL_FILE) << truncated.transport_error;
  EXPECT_EQ(truncated.headers.at("content-length"), std::to_string(object_.size()));
  EXPECT_EQ(truncated.body, object_.substr(0, 1000));
}

TEST_F(FaultProxyTest, CorruptBodyByteFlipsExactlyThatByte) {
  proxy_->FailNext(1, Fault::CorruptBodyByte(4321));
  const S3Reply corrupt = Get("object");
  ASSERT_TRUE(corrupt.ok()) << corrupt.transport_error;
  ASSERT_EQ(corrupt.body.size(), object_.size());
  std::string expected = object_;
  expected[4321] = static_cast<char>(~expected[4321]);
  EXPECT_EQ(corrupt.body, expected);
}

TEST_F(FaultProxyTest, DelayedResponseOutlastsAClientTimeout) {
  proxy_->FailNext(1, Fault::DelayResponse(std::chrono::seconds(60)));
  const S3Reply late = Get("object", std::chrono::milliseconds(300));
  EXPECT_EQ(late.curl_code, CURLE_OPERATION_TIMEDOUT) << late.transport_error;
  EXPECT_TRUE(Get("object").ok());  // and the proxy's destructor does not wait out the minute
}

// Two pipelined requests on one connection: the proxy frames each and counts both.
TEST_F(FaultProxyTest, CountsEveryRequestOnAKeepAliveConnection) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(proxy_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string requests =
      "GET / HTTP/1.1\r\nHost: s3\r\n\r\n"
      "PUT /anonymous-bucket HTTP/1.1\r\nHost: s3\r\nContent-Length: 3\r\n\r\nabc"
      "GET / HTTP/1.1\r\nHost: s3\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, requests.data(), requests.size(), 0), static_cast<ssize_t>(requests.size()));
  std::string answers;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answers.append(buf, static_cast<size_t>(n));
  ::close(fd);
  int responses = 0;
  for (size_t at = 0; (at = answers.find("HTTP/1.1 ", at)) != std::string::npos; ++at) ++responses;
  EXPECT_EQ(responses, 3) << answers;
  EXPECT_EQ(proxy_->requests_seen(), 3);
  EXPECT_EQ(proxy_->connections_accepted(), 1);
}

TEST_F(FaultProxyTest, WaitForFaultsReturnsOnceAnotherThreadsRequestWasHit) {
  proxy_->FailNext(1, Fault::SlowDown());
  EXPECT_FALSE(proxy_->WaitForFaults(1, std::chrono::milliseconds(0)));
  std::thread client([this] { Get("object"); });
  EXPECT_TRUE(proxy_->WaitForFaults(1, kLimit));
  EXPECT_TRUE(proxy_->WaitForRequests(1, kLimit));
  client.join();
}

}  // namespace
}  // namespace kubecnn::testing

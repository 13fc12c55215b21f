// http::Server: address parsing, routes, limits (deadline, connection caps, request size) and
// listening on IPv6 and IPv4, each against real sockets on port 0.
#include "trainer/common/http_server.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "tests/support/rude_clients.h"

namespace kubecnn::http {
namespace {

using namespace std::chrono_literals;
using kubecnn::testing::HttpGetWithin;

std::map<std::string, Handler> Hello() {
  return {{"/hello", [] { return Response{200, "text/plain", "hi\n"}; }}};
}

TEST(ParseListenAddress, AcceptsHostPortBracketedIpv6AndBarePort) {
  struct Case {
    std::string text, host;
    int port;
  };
  for (const Case& c : std::vector<Case>{{":9400", "", 9400},
                                         {"0.0.0.0:9400", "0.0.0.0", 9400},
                                         {"127.0.0.1:0", "127.0.0.1", 0},
                                         {"[::]:80", "::", 80},
                                         {"[fd00::1]:65535", "fd00::1", 65535}}) {
    const ListenAddress a = ParseListenAddress(c.text);
    EXPECT_EQ(a.host, c.host) << c.text;
    EXPECT_EQ(a.port, c.port) << c.text;
  }
}

TEST(ParseListenAddress, RefusesWhatIsNoAddressSayingWhy) {
  for (const std::string text : {"9400", "::1:9400", "host:", "host:65536", "host:-1", "host:12ab"}) {
    EXPECT_THROW(ParseListenAddress(text), std::invalid_argument) << text;
  }
  try {
    ParseListenAddress("::1:9400");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("brackets"), std::string::npos) << e.what();
  }
}

TEST(HttpServer, ServesRoutesAndAnswersOthersWithTheRightStatus) {
  Server server({"127.0.0.1", 0},
                {{"/hello",
                  [] {
                    return Response{200, "text/plain", "hi\n"};
                  }},
                 {"/boom", []() -> Response { throw std::runtime_error("collector failed"); }}},
                Limits{}, "test");
  ASSERT_GT(server.port(), 0);
  const auto hello = HttpGetWithin("127.0.0.1", server.port(), "/hello", 2s);
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hi\n");
  const auto query = HttpGetWithin("127.0.0.1", server.port(), "/hello?x=1", 2s);
  EXPECT_EQ(query.status, 200);
  const auto missing = HttpGetWithin("127.0.0.1", server.port(), "/nope", 2s);
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("/hello"), std::string::npos) << missing.body;
  const auto boom = HttpGetWithin("127.0.0.1", server.port(), "/boom", 2s);
  EXPECT_EQ(boom.status, 500);
  EXPECT_NE(boom.body.find("collector failed"), std::string::npos) << boom.body;

  kubecnn::testing::RawConnection post("127.0.0.1", server.port());
  ASSERT_TRUE(post.Send("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  // The answer is a 405 and the connection ends with it.
  EXPECT_TRUE(post.ClosedByServerWithin(2s));
}

TEST(HttpServer, AnIpv4AddressIsIpv4OnlyAndTheWildcardIsBoth) {
  Server v4({"127.0.0.1", 0}, Hello(), Limits{}, "test");
  EXPECT_EQ(HttpGetWithin("::1", v4.port(), "/hello", 2s).status, 0);
  Server v6({"::1", 0}, Hello(), Limits{}, "test");
  EXPECT_EQ(HttpGetWithin("::1", v6.port(), "/hello", 2s).status, 200);
  EXPECT_EQ(HttpGetWithin("127.0.0.1", v6.port(), "/hello", 2s).status, 0);
  Server any({"", 0}, Hello(), Limits{}, "test");
  EXPECT_EQ(HttpGetWithin("::1", any.port(), "/hello", 2s).status, 200);
  EXPECT_EQ(HttpGetWithin("127.0.0.1", any.port(), "/hello", 2s).status, 200);
}

TEST(HttpServer, TakenPortIsAnErrorWithTheAddressAndTheHint) {
  Server first({"127.0.0.1", 0}, Hello(), Limits{}, "pick another with --metrics_port");
  try {
    Server second({"127.0.0.1", first.port()}, Hello(), Limits{}, "pick another with --metrics_port");
    FAIL() << "a second server bound the same port";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << what;
    EXPECT_NE(what.find("--metrics_port"), std::string::npos) << what;
  }
}

TEST(HttpServer, DeadlineCutsAClientThatKeepsSendingAndCountsIt) {
  Limits limits;
  limits.request_deadline = 1s;
  Server server({"127.0.0.1", 0}, Hello(), limits, "test");
  kubecnn::testing::SlowClient slow("127.0.0.1", server.port(), "GET /hello HTTP/1.1\r\nX-Pad: aaaaaaaa", 200ms);
  const auto until = std::chrono::steady_clock::now() + 4s;
  while (!slow.closed_by_server() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(slow.closed_by_server());
  EXPECT_EQ(server.deadline_cuts(), 1u);
}

TEST(HttpServer, HoldsNoMoreConnectionsThanItsCaps) {
  Limits limits;
  limits.max_connections = 6;
  limits.max_connections_per_address = 4;
  Server server({"", 0}, Hello(), limits, "test");
  kubecnn::testing::ConnectionFlood from_two("127.0.0.2", server.port(), 20);
  kubecnn::testing::ConnectionFlood from_three("127.0.0.3", server.port(), 20);
  // Give the server time to accept what it will (40 without the caps), then count.
  for (int i = 0; i < 20 && kubecnn::testing::AcceptedConnectionsOnPort(server.port()) < 6; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(300ms);
  const int held = kubecnn::testing::AcceptedConnectionsOnPort(server.port());
  EXPECT_GE(held, 6) << "the flood did not reach the server";
  EXPECT_LE(held, 6);
}

TEST(HttpServer, OversizedRequestHeadersAreRefused) {
  Server server({"127.0.0.1", 0}, Hello(), Limits{}, "test");
  kubecnn::testing::RawConnection big("127.0.0.1", server.port());
  big.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_TRUE(big.ClosedByServerWithin(3s));
  EXPECT_EQ(HttpGetWithin("127.0.0.1", server.port(), "/hello", 2s).status, 200);
}

}  // namespace
}  // namespace kubecnn::http

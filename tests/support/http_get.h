// A minimal blocking HTTP/1.0 GET against a loopback port, for tests of our HTTP endpoints.
#pragma once

#include <string>

namespace kubecnn::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:<port><path>; throws std::runtime_error on connection failure.
HttpResponse HttpGet(int port, const std::string& path);

// A TCP port nobody listens on right now (the kernel's pick for port 0, released again), for a
// server that must be told its port, such as a binary run with --metrics_port.
int FreePort();

}  // namespace kubecnn::testing

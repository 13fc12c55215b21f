// Clients that misbehave on purpose (slow, silent, never reading, flooding) and a GET with a
// deadline, for tests of the HTTP endpoints the operator and the trainer serve.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/http_get.h"

namespace kubecnn::testing {

// One TCP connection to host:port ("127.0.0.1", "::1"), optionally from `source` (another
// loopback address such as 127.0.0.2, so a server can tell two clients apart). Throws
// std::runtime_error when it cannot connect. `receive_buffer` > 0 shrinks SO_RCVBUF before
// connecting, so a client that never reads stops the server's sends soon.
class RawConnection {
 public:
  RawConnection(const std::string& host, int port, const std::string& source = "", int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends all of `data`; false once the server has closed or reset the connection.
  bool Send(std::string_view data);
  // Waits up to `wait` for the server to end the connection (EOF or reset), discarding what it
  // sends meanwhile. True when it did.
  bool ClosedByServerWithin(std::chrono::milliseconds wait);
  void Close();

 private:
  int fd_ = -1;
};

// GET http://host:port/path with the whole exchange bounded by `deadline`; status 0 when it
// timed out or the connection failed (the body then says why).
HttpResponse HttpGetWithin(const std::string& host, int port, const std::string& path,
                           std::chrono::milliseconds deadline);

// Sends `request` one byte every `interval` on its own thread until destroyed or the server
// closes the connection; closed_by_server() says which.
class SlowClient {
 public:
  SlowClient(const std::string& host, int port, std::string request, std::chrono::milliseconds interval);
  ~SlowClient();
  bool closed_by_server() const { return closed_by_server_; }
  // The first byte is on the wire.
  void WaitUntilStarted() const;

 private:
  RawConnection connection_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> started_{false};
  std::atomic<bool> closed_by_server_{false};
  std::thread thread_;
};

// `count` connections opened without waiting for the handshake (non-blocking connect), from
// `source`, that never send a byte. Closed when destroyed.
class ConnectionFlood {
 public:
  ConnectionFlood(const std::string& source, int port, int count);
  ~ConnectionFlood();
  ConnectionFlood(const ConnectionFlood&) = delete;
  ConnectionFlood& operator=(const ConnectionFlood&) = delete;

 private:
  std::vector<int> fds_;
};

// Connections this process has accepted on local TCP port `port` and still holds (server ends
// in /proc/net/tcp{,6} owned by an open socket: a listen backlog entry does not count).
int AcceptedConnectionsOnPort(int port);

}  // namespace kubecnn::testing

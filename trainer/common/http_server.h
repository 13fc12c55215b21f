// One HTTP serving layer for every endpoint kubecnn exposes (the operator's health and metrics,
// the trainer's metrics), on libmicrohttpd: one event-driven thread serves all connections, so a
// slow client costs a connection slot, never the endpoint.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace kubecnn::http {

// What one client may cost. The deadline bounds a connection from accept to its last byte sent
// (each answer closes the connection), whatever the client does: trickle its request one byte at
// a time, fall silent, or never read the answer.
struct Limits {
  std::chrono::milliseconds request_deadline{10000};
  std::chrono::seconds idle_timeout{5};  // no byte in either direction (libmicrohttpd counts in seconds)
  unsigned max_connections = 64;
  unsigned max_connections_per_address = 16;  // a flood from one address leaves room for the kubelet
  size_t max_request_bytes = 16 * 1024;       // request line and headers; larger ones get 431
  // The serving thread's stack: static TLS of the CUDA libraries the trainer loads comes out of
  // it (civetweb's fixed 100 KiB stack cannot even start there).
  size_t thread_stack_bytes = 2 * 1024 * 1024;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Answers GET (and HEAD) of one exact path. Runs on the serving thread: keep it short.
using Handler = std::function<Response()>;

// Where to listen. An empty host (or "::") listens on every IPv6 and IPv4 address of the host
// (one dual-stack socket; IPv4 alone where the kernel has no IPv6). Port 0 picks a free port.
struct ListenAddress {
  std::string host;
  int port = 0;
};

// "HOST:PORT", "[IPV6]:PORT" or ":PORT". Throws std::invalid_argument saying what is wrong.
ListenAddress ParseListenAddress(const std::string& text);

class Server {
 public:
  // Starts serving `routes` at once. Throws std::runtime_error with the address, the reason and
  // `hint` (such as "is the port in use? pick another with --metrics_port").
  Server(const ListenAddress& address, std::map<std::string, Handler> routes, const Limits& limits,
         const std::string& hint);
  // Closes every connection and returns without waiting on any client.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Connections cut at the request deadline since the start.
  uint64_t deadline_cuts() const;

  struct State;  // public for libmicrohttpd's C callbacks

 private:
  std::unique_ptr<State> state_;
};

}  // namespace kubecnn::http

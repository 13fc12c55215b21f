// KubeletLogServer: the kubelet's container log API (GET /containerLogs/NS/POD/CONTAINER) over HTTPS
// with client certificates, as kube-apiserver's pods/log subresource reaches it (Node
// status.addresses InternalIP, port status.daemonEndpoints.kubeletEndpoint.Port). Built on
// libmicrohttpd with GnuTLS directly rather than kubecnn_http: it streams an unbounded body
// (follow), routes by path pattern and authenticates clients, none of which the operator's and the
// trainer's endpoints need.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::e2e {

// One run of a container: its bytes of the log file the node appends every run of the pod to.
struct ContainerRunLog {
  std::string path;
  int64_t begin = 0;             // the file's size when the run started
  std::atomic<int64_t> end{-1};  // its size once the run has exited; -1 while it runs
};

// GET /containerLogs/NS/POD/CONTAINER?follow=true&previous=true&tailLines=N&limitBytes=N as the
// kubelet reads it (sinceSeconds, sinceTime and timestamps are accepted and ignored).
struct ContainerLogRequest {
  std::string ns, pod, container;
  bool follow = false;
  bool previous = false;
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> limit_bytes;
};

// What the node knows of a requested container: 200 and its log, or the kubelet's status and message.
struct LogLookup {
  int status = 200;
  std::string message;
  std::shared_ptr<const ContainerRunLog> log;
};
using LogFinder = std::function<LogLookup(const ContainerLogRequest&)>;

// The request of `path` and `query`, or nullopt with `*error` set to why it is no container log
// request (`*not_found` true: another path, 404; false: a bad parameter, 400).
std::optional<ContainerLogRequest> ParseContainerLogRequest(std::string_view path,
                                                            const std::map<std::string, std::string>& query,
                                                            std::string* error, bool* not_found);

// Where the last `lines` lines of `text` start (a trailing newline ends the last line, it starts
// none); 0 when it has no more lines than that.
size_t TailStart(std::string_view text, int64_t lines);

struct KubeletLogServerOptions {
  std::string address;  // IPv4 to listen on
  int port = 0;         // 0: a free one
  std::string serving_cert_pem, serving_key_pem;
  std::string client_ca_pem;  // the kubelet's --client-ca-file: who may connect at all (else 401)
  // Who may read logs among them (the authorizer's answer; else 403): members of these groups.
  std::vector<std::string> authorized_groups = {"system:masters"};
  unsigned max_connections = 32;
  std::chrono::milliseconds request_deadline{10000};  // a whole answer without follow
  std::chrono::seconds idle_timeout{10};              // no byte from the client while it sends its request
};

class KubeletLogServer {
 public:
  // Starts serving at once; throws std::runtime_error saying why it cannot listen.
  KubeletLogServer(KubeletLogServerOptions options, LogFinder finder);
  // Ends every followed stream and returns once each connection's thread has.
  ~KubeletLogServer();
  KubeletLogServer(const KubeletLogServer&) = delete;
  KubeletLogServer& operator=(const KubeletLogServer&) = delete;

  int port() const;

  struct State;  // public for libmicrohttpd's C callbacks

 private:
  std::unique_ptr<State> state_;
};

}  // namespace kubecnn::e2e

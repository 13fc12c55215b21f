// HealthServer: one thread, one short request per connection (probes do not keep connections).
#include "operator/kube/health_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kubecnn::kube {

std::pair<bool, std::string> Readiness(bool synced, std::optional<std::chrono::steady_clock::duration> since_contact,
                                       std::chrono::steady_clock::duration window) {
  if (!since_contact) return {false, "no answer from the API server yet"};
  if (*since_contact > window) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*since_contact).count();
    return {false, "no answer from the API server for " + std::to_string(seconds) + " s (more than " +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(window).count()) + " s)"};
  }
  if (!synced) return {false, "informer caches not synced yet"};
  return {true, "ok"};
}

HealthServer::HealthServer(int port, Check healthy, Check ready)
    : healthy_(std::move(healthy)), ready_(std::move(ready)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("health endpoint: cannot listen on port " + std::to_string(port) + ": " + why +
                             " (is the port in use? pick another with --health_port)");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Loop(); });
}

HealthServer::~HealthServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

void HealthServer::Loop() {
  while (!stopping_) {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    Serve(fd);
    ::close(fd);
  }
}

void HealthServer::Serve(int fd) {
  std::string request;
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  const size_t sp = request.find(' ');
  const std::string path = request.substr(sp + 1, request.find_first_of(" ?", sp + 1) - sp - 1);
  int code = 404;
  std::string body = "not found: use /healthz or /readyz\n";
  if (path == "/healthz" || path == "/livez" || path == "/readyz") {
    const auto [ok, detail] = path == "/readyz" ? ready_() : healthy_();
    code = ok ? 200 : 503;
    body = (ok ? "ok" : detail.empty() ? std::string("not ok") : detail) + "\n";
  }
  const std::string response = "HTTP/1.1 " + std::to_string(code) +
                               (code == 200   ? " OK"
                                : code == 503 ? " Service Unavailable"
                                              : " Not Found") +
                               "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body;
  ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

}  // namespace kubecnn::kube

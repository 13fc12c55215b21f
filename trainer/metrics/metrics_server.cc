// MetricsServer: one thread (a normal-sized stack), one short request per connection.
#include "trainer/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kubecnn::metrics {
namespace {

constexpr int kRequestTimeoutMs = 5000;
constexpr size_t kMaxRequestBytes = 16 * 1024;

[[noreturn]] void CannotListen(const std::string& address, const std::string& why) {
  throw std::runtime_error("serving metrics on " + address + ": " + why +
                           " (is the port in use? pick another with --metrics_port)");
}

sockaddr_in ParseAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) CannotListen(address, "expected HOST:PORT");
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  char* end = nullptr;
  const long number = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || number < 0 || number > 65535) CannotListen(address, "bad port '" + port + "'");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(number));
  if (inet_pton(AF_INET, host.empty() ? "0.0.0.0" : host.c_str(), &addr.sin_addr) != 1) {
    CannotListen(address, "'" + host + "' is not an IPv4 address");
  }
  return addr;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string Response(int code, const char* reason, const char* content_type, const std::string& body, bool head_only) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         (head_only ? std::string() : body);
}

}  // namespace

MetricsServer::MetricsServer(const std::string& address) {
  sockaddr_in addr = ParseAddress(address);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) CannotListen(address, std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0 ||
      ::pipe2(wake_fds_, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    CannotListen(address, why);
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Loop(); });
}

MetricsServer::~MetricsServer() {
  const char byte = 0;
  if (::write(wake_fds_[1], &byte, 1) < 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fds_[0]);
  ::close(wake_fds_[1]);
}

void MetricsServer::Register(std::shared_ptr<prometheus::Collectable> collectable) {
  std::lock_guard<std::mutex> lock(mu_);
  collectables_.push_back(std::move(collectable));
}

std::string MetricsServer::Scrape() const {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& collectable : collectables_) {
      for (auto& family : collectable->Collect()) families.push_back(std::move(family));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

void MetricsServer::Loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd);
    ::close(fd);
  }
}

void MetricsServer::Serve(int fd) const {
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.find("\n\n") == std::string::npos) {
    if (request.size() > kMaxRequestBytes) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kRequestTimeoutMs) <= 0) return;  // a silent client cannot hold the endpoint
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  const size_t sp = request.find(' ');
  const std::string method = request.substr(0, sp);
  const size_t path_end = sp == std::string::npos ? sp : request.find_first_of(" ?\r\n", sp + 1);
  const std::string path = sp == std::string::npos ? "" : request.substr(sp + 1, path_end - sp - 1);
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    SendAll(fd, Response(405, "Method Not Allowed", "text/plain", "use GET /metrics\n", false));
  } else if (path == "/metrics") {
    SendAll(fd, Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", Scrape(), head));
  } else {
    SendAll(fd, Response(404, "Not Found", "text/plain", "not found: metrics are at /metrics\n", head));
  }
}

}  // namespace kubecnn::metrics

// Misbehaving clients over plain sockets: nothing here may block longer than the caller asked.
#include "tests/support/rude_clients.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kubecnn::testing {
namespace {

// Fills `storage` with host:port; IPv6 when the host has a colon.
socklen_t MakeAddress(const std::string& host, int port, sockaddr_storage* storage) {
  std::memset(storage, 0, sizeof *storage);
  if (host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) throw std::runtime_error("bad IPv6 address " + host);
    return sizeof *a;
  }
  auto* a = reinterpret_cast<sockaddr_in*>(storage);
  a->sin_family = AF_INET;
  a->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) throw std::runtime_error("bad IPv4 address " + host);
  return sizeof *a;
}

int OpenSocket(const std::string& host, const std::string& source, int receive_buffer, bool non_blocking) {
  sockaddr_storage target{};
  const socklen_t target_len = MakeAddress(host, 0, &target);
  const int fd = ::socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  if (!source.empty()) {
    sockaddr_storage local{};
    const socklen_t local_len = MakeAddress(source, 0, &local);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw std::runtime_error("cannot bind a client socket to " + source + ": " + why);
    }
  }
  (void)target_len;
  return fd;
}

}  // namespace

RawConnection::RawConnection(const std::string& host, int port, const std::string& source, int receive_buffer) {
  fd_ = OpenSocket(host, source, receive_buffer, false);
  sockaddr_storage addr{};
  const socklen_t len = MakeAddress(host, port, &addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    const std::string why = std::strerror(errno);
    Close();
    throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port) + ": " + why);
  }
}

RawConnection::~RawConnection() { Close(); }

void RawConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawConnection::ClosedByServerWithin(std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
}

HttpResponse HttpGetWithin(const std::string& host, int port, const std::string& path,
                           std::chrono::milliseconds deadline) {
  HttpResponse response;
  const auto until = std::chrono::steady_clock::now() + deadline;
  int fd = -1;
  try {
    fd = OpenSocket(host, "", 0, true);
  } catch (const std::exception& e) {
    response.body = e.what();
    return response;
  }
  auto left_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count()));
  };
  auto fail = [&](const std::string& why) {
    ::close(fd);
    response.status = 0;
    response.body = why;
    return response;
  };
  sockaddr_storage addr{};
  const socklen_t len = MakeAddress(host, port, &addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
    return fail(std::string("connect: ") + std::strerror(errno));
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, left_ms()) <= 0) return fail("connect timed out");
  int error = 0;
  socklen_t error_len = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len);
  if (error != 0) return fail(std::string("connect: ") + std::strerror(error));
  const std::string authority = host.find(':') == std::string::npos ? host : "[" + host + "]";
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n";
  std::string_view rest = request;
  while (!rest.empty()) {
    p = {fd, POLLOUT, 0};
    if (::poll(&p, 1, left_ms()) <= 0) return fail("send timed out");
    const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0 && errno != EAGAIN) return fail(std::string("send: ") + std::strerror(errno));
    if (n > 0) rest.remove_prefix(static_cast<size_t>(n));
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    p = {fd, POLLIN, 0};
    if (::poll(&p, 1, left_ms()) <= 0)
      return fail("no complete answer in time (" + std::to_string(raw.size()) + " bytes)");
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n < 0) return fail(std::string("recv: ") + std::strerror(errno));
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (raw.rfind("HTTP/", 0) == 0 && raw.size() > 12) response.status = std::stoi(raw.substr(9, 3));
  const size_t body = raw.find("\r\n\r\n");
  if (body != std::string::npos) response.body = raw.substr(body + 4);
  return response;
}

SlowClient::SlowClient(const std::string& host, int port, std::string request, std::chrono::milliseconds interval)
    : connection_(host, port) {
  thread_ = std::thread([this, request = std::move(request), interval] {
    for (size_t i = 0; !stop_; i = (i + 1) % request.size()) {
      if (!connection_.Send(std::string_view(request).substr(i, 1))) {
        closed_by_server_ = true;
        started_ = true;
        return;
      }
      started_ = true;
      // Sleep in small steps so the destructor does not wait a whole interval; watch for a close.
      const auto until = std::chrono::steady_clock::now() + interval;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        if (connection_.ClosedByServerWithin(std::chrono::milliseconds(50))) {
          closed_by_server_ = true;
          return;
        }
      }
    }
  });
}

SlowClient::~SlowClient() {
  stop_ = true;
  thread_.join();
}

void SlowClient::WaitUntilStarted() const {
  while (!started_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

ConnectionFlood::ConnectionFlood(const std::string& source, int port, int count) {
  const std::string host = source.find(':') == std::string::npos ? "127.0.0.1" : "::1";
  for (int i = 0; i < count; ++i) {
    const int fd = OpenSocket(host, source, 0, true);
    sockaddr_storage addr{};
    const socklen_t len = MakeAddress(host, port, &addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
      ::close(fd);
      continue;
    }
    fds_.push_back(fd);
  }
}

ConnectionFlood::~ConnectionFlood() {
  for (const int fd : fds_) ::close(fd);
}

int AcceptedConnectionsOnPort(int port) {
  int count = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      const size_t colon = local.rfind(':');
      if (colon == std::string::npos || state == "0A" || inode == "0" || inode.empty()) continue;  // 0A: LISTEN
      if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) ++count;
    }
  }
  return count;
}

}  // namespace kubecnn::testing

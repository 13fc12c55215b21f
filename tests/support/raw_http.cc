// RawRequest and RawStream over POSIX sockets with poll() timeouts.
#include "tests/support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace kubecnn::testing {
namespace {

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("raw http: cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("raw http: send failed");
    sent += static_cast<size_t>(n);
  }
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Splits "HTTP/1.1 200 OK\r\nA: b\r\n\r\n" into status and headers.
size_t ParseHead(const std::string& raw, int* status, std::map<std::string, std::string>* headers) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return std::string::npos;
  *status = std::stoi(raw.substr(9, 3));
  size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    const size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      (*headers)[Lower(line.substr(0, colon))] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = eol + 2;
  }
  return end + 4;
}

std::string Request(const std::string& method, const std::string& target, const std::string& body,
                    const std::map<std::string, std::string>& headers) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return out + "\r\n" + body;
}

}  // namespace

RawResponse RawRequest(int port, const std::string& method, const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
  const int fd = Connect(port);
  SendAll(fd, Request(method, target, body, headers));
  std::string raw;
  char buf[16384];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  RawResponse response;
  const size_t body_at = ParseHead(raw, &response.status, &response.headers);
  if (body_at == std::string::npos) throw std::runtime_error("raw http: no response head for " + method + " " + target);
  std::string rest = raw.substr(body_at);
  if (Lower(response.headers["transfer-encoding"]) == "chunked") {
    size_t pos = 0;
    while (pos < rest.size()) {
      const size_t eol = rest.find("\r\n", pos);
      const size_t size = std::stoul(rest.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) break;
      response.body += rest.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
  } else {
    response.body = rest;
  }
  return response;
}

RawStream::RawStream(int port, const std::string& target) : fd_(Connect(port)) {
  SendAll(fd_, Request("GET", target, "", {}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::map<std::string, std::string> headers;
  size_t body_at;
  while ((body_at = ParseHead(raw_, &status_, &headers)) == std::string::npos) {
    if (!Fill(deadline)) throw std::runtime_error("raw http: no response head for GET " + target);
  }
  raw_.erase(0, body_at);
  if (Lower(headers["transfer-encoding"]) != "chunked") {
    // A plain (error) response: its body is one "line".
    const size_t length = headers.count("content-length") ? std::stoul(headers["content-length"]) : 0;
    while (raw_.size() < length && Fill(deadline)) {
    }
    lines_ = raw_ + "\n";
    raw_.clear();
    ended_ = clean_end_ = true;
  }
}

RawStream::~RawStream() { ::close(fd_); }

bool RawStream::Fill(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  pollfd p{fd_, POLLIN, 0};
  if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    ended_ = true;
    return false;
  }
  raw_.append(buf, static_cast<size_t>(n));
  return true;
}

bool RawStream::DecodeChunks() {
  bool progress = false;
  while (!clean_end_) {
    const size_t eol = raw_.find("\r\n");
    if (eol == std::string::npos) break;
    const size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
    if (raw_.size() < eol + 2 + size + 2) break;
    if (size == 0) {
      clean_end_ = ended_ = true;
    } else {
      lines_ += raw_.substr(eol + 2, size);
    }
    raw_.erase(0, eol + 2 + size + 2);
    progress = true;
  }
  return progress;
}

bool RawStream::NextLine(std::string* line, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    DecodeChunks();
    const size_t eol = lines_.find('\n');
    if (eol != std::string::npos) {
      *line = lines_.substr(0, eol);
      lines_.erase(0, eol + 1);
      return true;
    }
    if (ended_ || !Fill(deadline)) return false;
  }
}

nlohmann::json RawStream::NextEvent(std::chrono::milliseconds timeout) {
  std::string line;
  if (!NextLine(&line, timeout)) {
    throw std::runtime_error(ended_ ? "raw http: the watch stream ended before the next event"
                                    : "raw http: no watch event within " + std::to_string(timeout.count()) + " ms");
  }
  return nlohmann::json::parse(line);
}

}  // namespace kubecnn::testing

// FaultProxy: accept, read a request whole, pick a fault, forward, read the response whole, misbehave.
#include "tests/support/fault_proxy.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace kubecnn::testing {
namespace {

constexpr size_t kMaxHeadBytes = 64 << 10;
constexpr size_t kMaxMessageBytes = size_t{512} << 20;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Waits until `fd` has `events` (true) or the proxy shuts down: wake_fd turns readable (false).
bool Ready(int fd, short events, int wake_fd) {
  pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
  return ::poll(fds, 2, -1) > 0 && fds[1].revents == 0 && fds[0].revents != 0;
}

// Waits `delay` unless the proxy shuts down first (true).
bool ShutDownWithin(int wake_fd, std::chrono::milliseconds delay) {
  pollfd wake{wake_fd, POLLIN, 0};
  return ::poll(&wake, 1, static_cast<int>(delay.count())) > 0;
}

// Appends what `fd` has to `buf`: the byte count, 0 at end of stream, -1 on error or shutdown.
ssize_t ReadMore(int fd, int wake_fd, std::string& buf) {
  if (buf.size() > kMaxMessageBytes || !Ready(fd, POLLIN, wake_fd)) return -1;
  char chunk[64 << 10];
  const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
  if (n > 0) buf.append(chunk, static_cast<size_t>(n));
  return n < 0 ? -1 : n;
}

bool WriteAll(int fd, int wake_fd, std::string_view data) {
  while (!data.empty()) {
    if (!Ready(fd, POLLOUT, wake_fd)) return false;
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

struct Head {
  std::string start_line;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  size_t size = 0;                                           // bytes, the blank line included
  std::string Header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
};

// Reads until `buf` holds a whole message head and parses it; nullopt on end of stream or error.
std::optional<Head> ReadHead(int fd, int wake_fd, std::string& buf) {
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxHeadBytes || ReadMore(fd, wake_fd, buf) <= 0) return std::nullopt;
  }
  Head head;
  head.size = end + 4;
  size_t line_start = 0;
  for (size_t line_end; (line_end = buf.find("\r\n", line_start)) <= end; line_start = line_end + 2) {
    const std::string line = buf.substr(line_start, line_end - line_start);
    if (line_start == 0) {
      head.start_line = line;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    head.headers.emplace_back(Lower(line.substr(0, colon)), value == std::string::npos ? "" : line.substr(value));
  }
  return head;
}

// Length of the complete chunked body at buf[start...]: -1 while incomplete, -2 when malformed.
ptrdiff_t ChunkedLength(const std::string& buf, size_t start) {
  size_t pos = start;
  for (;;) {
    const size_t line_end = buf.find("\r\n", pos);
    if (line_end == std::string::npos) return -1;
    char* parsed_to = nullptr;
    const std::string size_line = buf.substr(pos, line_end - pos);
    const unsigned long long size = std::strtoull(size_line.c_str(), &parsed_to, 16);
    if (parsed_to == size_line.c_str() || size > kMaxMessageBytes) return -2;
    pos = line_end + 2;
    if (size == 0) break;
    pos += size + 2;
    if (pos > buf.size()) return -1;
  }
  for (;;) {  // trailers, up to the blank line
    const size_t line_end = buf.find("\r\n", pos);
    if (line_end == std::string::npos) return -1;
    const bool blank = line_end == pos;
    pos = line_end + 2;
    if (blank) return static_cast<ptrdiff_t>(pos - start);
  }
}

enum class Framing { kNone, kLength, kChunked, kUntilClose };

// Reads until `buf` holds the body that starts at `start`; its length, or nullopt on error.
std::optional<size_t> ReadBody(int fd, int wake_fd, std::string& buf, size_t start, Framing framing, size_t length) {
  switch (framing) {
    case Framing::kNone: return 0;
    case Framing::kLength:
      while (buf.size() < start + length) {
        if (length > kMaxMessageBytes || ReadMore(fd, wake_fd, buf) <= 0) return std::nullopt;
      }
      return length;
    case Framing::kChunked:
      for (;;) {
        const ptrdiff_t n = ChunkedLength(buf, start);
        if (n >= 0) return static_cast<size_t>(n);
        if (n == -2 || ReadMore(fd, wake_fd, buf) <= 0) return std::nullopt;
      }
    case Framing::kUntilClose:
      for (ssize_t n; (n = ReadMore(fd, wake_fd, buf)) != 0;) {
        if (n < 0) return std::nullopt;
      }
      return buf.size() - start;
  }
  return std::nullopt;
}

// How the body after `head` ends (kNone: no body, or none announced); false on a bad Content-Length.
bool FramingOf(const Head& head, Framing* framing, size_t* length) {
  *framing = Framing::kNone;
  if (Lower(head.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    *framing = Framing::kChunked;
    return true;
  }
  const std::string content_length = head.Header("content-length");
  if (content_length.empty()) return true;
  char* end = nullptr;
  *length = std::strtoull(content_length.c_str(), &end, 10);
  *framing = Framing::kLength;
  return end != content_length.c_str() && *end == '\0';
}

int ConnectTo(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

// Makes the coming close() abortive (RST, not FIN); false: the connection is done.
bool Reset(int fd) {
  const linger abort{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  return false;
}

// The S3 error document a real endpoint sends with `code`.
std::string S3Error(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
         "</Message><RequestId>kubecnn-fault-proxy</RequestId></Error>";
}

}  // namespace

std::string ProxiedRequest::query() const {
  const size_t q = target.find('?');
  return q == std::string::npos ? "" : target.substr(q + 1);
}

std::string ProxiedRequest::Header(const std::string& lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return "";
}

RequestMatcher MethodIs(const std::string& method) {
  return [method](const ProxiedRequest& r) { return r.method == method; };
}
RequestMatcher PathStartsWith(const std::string& prefix) {
  return [prefix](const ProxiedRequest& r) { return r.path().rfind(prefix, 0) == 0; };
}
RequestMatcher QueryContains(const std::string& text) {
  return [text](const ProxiedRequest& r) { return r.query().find(text) != std::string::npos; };
}

Fault Fault::Respond(int status, const std::string& reason, const std::string& body, const std::string& content_type) {
  Fault f;
  f.response = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + content_type +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  return f;
}
Fault Fault::SlowDown() { return Respond(503, "Slow Down", S3Error("SlowDown", "Please reduce your request rate.")); }
Fault Fault::InternalError() {
  return Respond(500, "Internal Server Error", S3Error("InternalError", "We encountered an internal error."));
}
Fault Fault::ResetAfterRequest() { return Fault{Kind::kResetAfterRequest, "", 0, {}}; }
Fault Fault::ResetAfterResponseBytes(size_t bytes) { return Fault{Kind::kResetAfterResponseBytes, "", bytes, {}}; }
Fault Fault::TruncateBody(size_t body_bytes_kept) { return Fault{Kind::kTruncateBody, "", body_bytes_kept, {}}; }
Fault Fault::DelayResponse(std::chrono::milliseconds delay) { return Fault{Kind::kDelayResponse, "", 0, delay}; }
Fault Fault::CorruptBodyByte(size_t offset) { return Fault{Kind::kCorruptBodyByte, "", offset, {}}; }

FaultProxy::FaultProxy(std::string target_host, int target_port, int max_connections)
    : target_host_(std::move(target_host)), target_port_(target_port), max_connections_(max_connections) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || wake_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1 port 0: " + why);
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);  // every poll in every thread returns
  acceptor_.join();
  for (auto& connection : connections_) connection->thread.join();
  changed_.notify_all();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void FaultProxy::FailNext(int count, Fault fault, RequestMatcher matcher) {
  std::lock_guard lock(mutex_);
  rules_.push_back(Rule{std::move(fault), std::move(matcher), count});
}

void FaultProxy::FailEvery(Fault fault, RequestMatcher matcher) {
  std::lock_guard lock(mutex_);
  rules_.push_back(Rule{std::move(fault), std::move(matcher), -1});
}

void FaultProxy::Clear() {
  std::lock_guard lock(mutex_);
  rules_.clear();
}

int64_t FaultProxy::requests_seen() const { return Read(requests_seen_); }
int64_t FaultProxy::faults_injected() const { return Read(faults_injected_); }
int64_t FaultProxy::connections_accepted() const { return Read(connections_accepted_); }

int64_t FaultProxy::Read(const int64_t& counter) const {
  std::lock_guard lock(mutex_);
  return counter;
}

bool FaultProxy::WaitForRequests(int64_t n, std::chrono::milliseconds limit) const {
  return WaitForCount(requests_seen_, n, limit);
}
bool FaultProxy::WaitForFaults(int64_t n, std::chrono::milliseconds limit) const {
  return WaitForCount(faults_injected_, n, limit);
}

bool FaultProxy::WaitForCount(const int64_t& counter, int64_t n, std::chrono::milliseconds limit) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return counter >= n; });
}

void FaultProxy::Count(int64_t& counter) {
  {
    std::lock_guard lock(mutex_);
    ++counter;
  }
  changed_.notify_all();
}

std::optional<Fault> FaultProxy::TakeFault(const ProxiedRequest& request) {
  std::optional<Fault> taken;
  {
    std::lock_guard lock(mutex_);
    for (Rule& rule : rules_) {
      if (rule.remaining == 0 || (rule.matcher && !rule.matcher(request))) continue;
      if (rule.remaining > 0) --rule.remaining;
      taken = rule.fault;
      break;
    }
  }
  if (taken) Count(faults_injected_);
  return taken;
}

void FaultProxy::AcceptLoop() {
  while (Ready(listen_fd_, POLLIN, wake_fd_)) {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    connections_.remove_if([](const std::unique_ptr<Connection>& c) {
      if (!c->done) return false;
      c->thread.join();
      return true;
    });
    if (static_cast<int>(connections_.size()) >= max_connections_) {
      ::close(client);  // over the limit: the client sees the connection closed
      continue;
    }
    Count(connections_accepted_);
    auto connection = std::make_unique<Connection>();
    Connection* c = connection.get();
    c->thread = std::thread([this, client, c] {
      Serve(client);
      c->done = true;
    });
    connections_.push_back(std::move(connection));
  }
}

void FaultProxy::Serve(int client_fd) {
  std::string from_client, from_upstream;
  int upstream_fd = -1;
  while (ServeRequest(client_fd, upstream_fd, from_client, from_upstream)) {
  }
  if (upstream_fd >= 0) ::close(upstream_fd);
  ::close(client_fd);
}

bool FaultProxy::ServeRequest(int client_fd, int& upstream_fd, std::string& from_client, std::string& from_upstream) {
  const std::optional<Head> head = ReadHead(client_fd, wake_fd_, from_client);
  if (!head) return false;
  ProxiedRequest request;
  const size_t sp1 = head->start_line.find(' '), sp2 = head->start_line.rfind(' ');
  request.method = head->start_line.substr(0, sp1);
  request.target = sp1 < sp2 ? head->start_line.substr(sp1 + 1, sp2 - sp1 - 1) : "";
  request.headers = head->headers;
  Count(requests_seen_);
  const std::optional<Fault> fault = TakeFault(request);
  const bool respond = fault && fault->kind == Fault::Kind::kRespond;
  const bool expects_continue = Lower(request.Header("expect")) == "100-continue";
  // A client waiting for 100 Continue has sent no body: answer at once. Otherwise read the body
  // first, or closing with it unread would reset the connection before the client reads the answer.
  if (respond && expects_continue) {
    WriteAll(client_fd, wake_fd_, fault->response);
    return false;
  }
  // We answer 100 Continue ourselves (and drop the upstream's): the whole request is read first.
  if (expects_continue && !WriteAll(client_fd, wake_fd_, "HTTP/1.1 100 Continue\r\n\r\n")) return false;
  Framing framing;
  size_t length = 0;
  if (!FramingOf(*head, &framing, &length)) return false;
  const std::optional<size_t> body = ReadBody(client_fd, wake_fd_, from_client, head->size, framing, length);
  if (!body) return false;
  if (respond) {
    WriteAll(client_fd, wake_fd_, fault->response);
    return false;
  }
  if (fault && fault->kind == Fault::Kind::kResetAfterRequest) return Reset(client_fd);

  if (upstream_fd < 0 && (upstream_fd = ConnectTo(target_host_, target_port_)) < 0) {
    WriteAll(client_fd, wake_fd_, Fault::Respond(502, "Bad Gateway", "fault proxy: upstream unreachable").response);
    return false;
  }
  const size_t request_size = head->size + *body;
  const bool sent = WriteAll(upstream_fd, wake_fd_, std::string_view(from_client).substr(0, request_size));
  from_client.erase(0, request_size);
  std::optional<Response> response;
  if (sent) response = ReadResponse(upstream_fd, from_upstream, request);
  if (!response || !response->keep_alive) {
    ::close(upstream_fd);
    upstream_fd = -1;
  }
  return response && Answer(client_fd, fault, *response);
}

std::optional<FaultProxy::Response> FaultProxy::ReadResponse(int upstream_fd, std::string& from_upstream,
                                                             const ProxiedRequest& request) {
  std::optional<Head> head;
  int status = 0;
  for (;;) {
    head = ReadHead(upstream_fd, wake_fd_, from_upstream);
    if (!head || head->start_line.size() < 12) return std::nullopt;
    status = std::atoi(head->start_line.c_str() + 9);
    if (status >= 200 || status == 101) break;
    from_upstream.erase(0, head->size);  // an interim 1xx
  }
  size_t length = 0;
  Framing framing;
  if (!FramingOf(*head, &framing, &length)) return std::nullopt;
  if (request.method == "HEAD" || status == 204 || status == 304) {
    framing = Framing::kNone;
  } else if (framing == Framing::kNone && head->Header("content-length").empty()) {
    framing = Framing::kUntilClose;
  }
  const std::optional<size_t> body = ReadBody(upstream_fd, wake_fd_, from_upstream, head->size, framing, length);
  if (!body) return std::nullopt;
  Response response;
  response.bytes = from_upstream.substr(0, head->size + *body);
  from_upstream.erase(0, response.bytes.size());
  response.head_size = head->size;
  response.keep_alive = framing != Framing::kUntilClose && head->start_line.rfind("HTTP/1.1", 0) == 0 &&
                        Lower(head->Header("connection")) != "close" && Lower(request.Header("connection")) != "close";
  return response;
}

bool FaultProxy::Answer(int client_fd, const std::optional<Fault>& fault, Response& response) {
  const std::string_view bytes(response.bytes);
  if (fault) {
    switch (fault->kind) {
      case Fault::Kind::kDelayResponse:
        if (ShutDownWithin(wake_fd_, fault->delay)) return false;
        break;
      case Fault::Kind::kTruncateBody:
        WriteAll(client_fd, wake_fd_, bytes.substr(0, response.head_size + fault->bytes));
        return false;
      case Fault::Kind::kResetAfterResponseBytes:
        WriteAll(client_fd, wake_fd_, bytes.substr(0, fault->bytes));
        return Reset(client_fd);
      case Fault::Kind::kCorruptBodyByte:
        if (response.head_size + fault->bytes < response.bytes.size()) {
          response.bytes[response.head_size + fault->bytes] ^= static_cast<char>(0xFF);
        }
        break;
      default: break;
    }
  }
  return WriteAll(client_fd, wake_fd_, response.bytes) && response.keep_alive;
}

}  // namespace kubecnn::testing

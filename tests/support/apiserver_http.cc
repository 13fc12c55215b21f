// HttpTestServer: accept loop, request parsing (Content-Length and chunked bodies), responses.
#include "tests/support/apiserver_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace kubecnn::testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// Byte stream over a socket, optionally through TLS.
class Stream {
 public:
  Stream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Stream() {
    if (ssl_) SSL_free(ssl_);
  }
  long Read(char* buf, size_t n) {
    if (ssl_) return SSL_read(ssl_, buf, static_cast<int>(n));
    return ::recv(fd_, buf, n, 0);
  }
  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      long n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                    : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until `delim`, keeping surplus bytes buffered. False at EOF/error.
  bool ReadUntil(std::string_view delim, std::string* out) {
    while (true) {
      const size_t at = buffer_.find(delim);
      if (at != std::string::npos) {
        *out = buffer_.substr(0, at);
        buffer_.erase(0, at + delim.size());
        return true;
      }
      if (buffer_.size() > (1u << 20)) return false;
      if (!Fill()) return false;
    }
  }
  bool ReadExactly(size_t n, std::string* out) {
    while (buffer_.size() < n) {
      if (!Fill()) return false;
    }
    *out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return true;
  }

 private:
  bool Fill() {
    char buf[16384];
    const long n = Read(buf, sizeof buf);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  SSL* ssl_;
  std::string buffer_;
};

class Writer : public ResponseWriter {
 public:
  Writer(Stream* stream, int fd, bool keep_alive) : stream_(stream), fd_(fd), keep_alive_(keep_alive) {}

  bool Send(int status, const Headers& headers, std::string_view body) override {
    std::string head = StatusLine(status, headers);
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    started_ = true;
    finished_ = true;
    ok_ = stream_->WriteAll(head) && stream_->WriteAll(body);
    return ok_;
  }
  bool StartChunked(int status, const Headers& headers) override {
    started_ = true;
    ok_ = stream_->WriteAll(StatusLine(status, headers) + "Transfer-Encoding: chunked\r\n\r\n");
    return ok_;
  }
  bool WriteChunk(std::string_view data) override {
    if (!ok_ || data.empty()) return ok_;
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    ok_ = stream_->WriteAll(std::string(size) + std::string(data) + "\r\n");
    return ok_;
  }
  bool EndChunked() override {
    finished_ = true;
    ok_ = ok_ && stream_->WriteAll("0\r\n\r\n");
    return ok_;
  }
  void Abort() override {
    aborted_ = true;
    ::shutdown(fd_, SHUT_RDWR);
  }

  bool reusable() const { return ok_ && finished_ && !aborted_ && keep_alive_; }
  bool started() const { return started_; }

 private:
  std::string StatusLine(int status, const Headers& headers) const {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) + "\r\n";
    for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
    if (!keep_alive_) out += "Connection: close\r\n";
    return out;
  }
  Stream* stream_;
  int fd_;
  bool keep_alive_;
  bool ok_ = true;
  bool started_ = false;
  bool finished_ = false;
  bool aborted_ = false;
};

bool ReadRequest(Stream& stream, ServerRequest* request) {
  std::string head;
  if (!stream.ReadUntil("\r\n\r\n", &head)) return false;
  const size_t line_end = head.find("\r\n");
  const std::string line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return false;
  request->method = line.substr(0, sp1);
  request->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    const std::string header = head.substr(pos, end - pos);
    const size_t colon = header.find(':');
    if (colon != std::string::npos) {
      std::string value = header.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      request->headers[Lower(header.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
  const size_t q = request->target.find('?');
  request->path = PercentDecode(request->target.substr(0, q), false);
  if (q != std::string::npos) {
    request->raw_query = request->target.substr(q + 1);
    size_t start = 0;
    while (start <= request->raw_query.size()) {
      size_t amp = request->raw_query.find('&', start);
      if (amp == std::string::npos) amp = request->raw_query.size();
      const std::string pair = request->raw_query.substr(start, amp - start);
      if (!pair.empty()) {
        const size_t eq = pair.find('=');
        request->query[PercentDecode(pair.substr(0, eq), true)] =
            eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
      }
      start = amp + 1;
    }
  }
  if (Lower(request->Header("transfer-encoding")) == "chunked") {
    while (true) {
      std::string size_line;
      if (!stream.ReadUntil("\r\n", &size_line)) return false;
      const size_t size = std::stoul(size_line, nullptr, 16);
      std::string chunk;
      if (!stream.ReadExactly(size + 2, &chunk)) return false;
      if (size == 0) break;
      request->body += chunk.substr(0, size);
    }
  } else if (!request->Header("content-length").empty()) {
    if (!stream.ReadExactly(std::stoul(request->Header("content-length")), &request->body)) return false;
  }
  return true;
}

}  // namespace

std::string ServerRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string ServerRequest::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

HttpTestServer::HttpTestServer(Handler handler, std::optional<ServerTls> tls) : handler_(std::move(handler)) {
  // OpenSSL writes to the socket with write(2): a client that hangs up mid-handshake (as one that
  // rejects our certificate does) must not kill the test process with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  if (tls) {
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    BIO* cert_bio = BIO_new_mem_buf(tls->cert_pem.data(), static_cast<int>(tls->cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO_free(cert_bio);
    BIO* key_bio = BIO_new_mem_buf(tls->key_pem.data(), static_cast<int>(tls->key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(key_bio);
    if (!cert || !key || SSL_CTX_use_certificate(ssl_ctx_, cert) != 1 || SSL_CTX_use_PrivateKey(ssl_ctx_, key) != 1) {
      throw std::runtime_error("test server: cannot load the TLS certificate/key: " + OpenSslError());
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!tls->client_ca_pem.empty()) {
      BIO* ca_bio = BIO_new_mem_buf(tls->client_ca_pem.data(), static_cast<int>(tls->client_ca_pem.size()));
      X509* ca = PEM_read_bio_X509(ca_bio, nullptr, nullptr, nullptr);
      BIO_free(ca_bio);
      if (!ca) throw std::runtime_error("test server: cannot parse the client CA: " + OpenSslError());
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ssl_ctx_), ca);
      X509_free(ca);
      // Like kube-apiserver: ask for a client certificate, verify it if given, accept its absence
      // (the request may still authenticate with a bearer token).
      SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
    }
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 128) != 0) {
    throw std::runtime_error(std::string("test server: cannot listen on 127.0.0.1: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

HttpTestServer::~HttpTestServer() {
  Stop();
  if (ssl_ctx_) SSL_CTX_free(ssl_ctx_);
}

void HttpTestServer::Stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  ::close(listen_fd_);
  DropConnections();
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (auto& c : connections) {
    if (c->thread.joinable()) c->thread.join();
  }
}

void HttpTestServer::DropConnections() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : connections_) {
    if (!c->done) ::shutdown(c->fd, SHUT_RDWR);
  }
}

void HttpTestServer::ReapFinished() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void HttpTestServer::AcceptLoop() {
  while (!stopping_) {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ReapFinished();
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    Connection* raw = connection.get();
    connections_.push_back(std::move(connection));
    raw->thread = std::thread([this, raw] { Serve(raw); });
  }
}

void HttpTestServer::Serve(Connection* connection) {
  SSL* ssl = nullptr;
  std::string client_subject;
  if (ssl_ctx_) {
    ssl = SSL_new(ssl_ctx_);
    SSL_set_fd(ssl, connection->fd);
    if (SSL_accept(ssl) != 1) {
      SSL_free(ssl);
      std::lock_guard<std::mutex> lock(mu_);
      connection->done = true;
      ::close(connection->fd);
      return;
    }
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
      if (SSL_get_verify_result(ssl) == X509_V_OK) {
        char cn[256] = {0};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
        client_subject = cn;
      }
      X509_free(peer);
    }
  }
  {
    Stream stream(connection->fd, ssl);
    while (!stopping_) {
      ServerRequest request;
      if (!ReadRequest(stream, &request)) break;
      request.client_cert_subject = client_subject;
      const bool keep_alive = Lower(request.Header("connection")) != "close";
      Writer writer(&stream, connection->fd, keep_alive);
      try {
        handler_(request, writer);
      } catch (const std::exception& e) {
        if (!writer.started()) writer.Send(500, {{"Content-Type", "text/plain"}}, e.what());
      }
      if (!writer.reusable()) break;
    }
    if (ssl) SSL_shutdown(ssl);
  }
  // Under the lock so DropConnections never shuts down a reused descriptor number.
  std::lock_guard<std::mutex> lock(mu_);
  connection->done = true;
  ::close(connection->fd);
}

}  // namespace kubecnn::testing

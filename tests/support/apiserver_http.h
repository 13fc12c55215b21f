// A small HTTP/1.1 server for tests: plain sockets, one thread per connection, optional TLS
// (OpenSSL), keep-alive, chunked streaming and abrupt closes under the handler's control.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace kubecnn::testing {

struct ServerRequest {
  std::string method;
  std::string target;  // as sent: path?query
  std::string path;    // percent-decoded path
  std::string raw_query;
  std::map<std::string, std::string> query;    // decoded; the last value wins
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string client_cert_subject;  // CN of a verified client certificate, else empty

  std::string Header(const std::string& lower_name) const;
  std::string Query(const std::string& name) const;
};

// One connection's response side. A handler either Sends once, or StartChunked + WriteChunk... +
// EndChunked, or Aborts (drops the connection mid-response, as a crashed server or proxy would).
// Writes return false once the peer is gone.
class ResponseWriter {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  virtual ~ResponseWriter() = default;
  virtual bool Send(int status, const Headers& headers, std::string_view body) = 0;
  virtual bool StartChunked(int status, const Headers& headers) = 0;
  virtual bool WriteChunk(std::string_view data) = 0;
  virtual bool EndChunked() = 0;
  virtual void Abort() = 0;
};

struct ServerTls {
  std::string cert_pem;       // server certificate chain
  std::string key_pem;        // its private key
  std::string client_ca_pem;  // when set, client certificates signed by it are verified (optional)
};

class HttpTestServer {
 public:
  using Handler = std::function<void(const ServerRequest&, ResponseWriter&)>;

  // Listens on 127.0.0.1 with a kernel-chosen port. Throws std::runtime_error on failure.
  HttpTestServer(Handler handler, std::optional<ServerTls> tls);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return ssl_ctx_ != nullptr; }
  // Closes the listener and every connection, then joins all threads. Idempotent.
  void Stop();
  // Shuts down every open connection (keep-alive and streaming alike) without stopping.
  void DropConnections();

 private:
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void AcceptLoop();
  void Serve(Connection* connection);
  void ReapFinished();

  Handler handler_;
  SSL_CTX* ssl_ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;
};

std::string PercentDecode(std::string_view text, bool plus_is_space);

}  // namespace kubecnn::testing

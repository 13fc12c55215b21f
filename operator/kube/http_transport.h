// HTTP to the API server over libcurl: one-shot requests and line-by-line streamed responses,
// with TLS set up from a RestConfig (CA bundle, client certificate, or no verification when the
// kubeconfig says so). The only file of the client that sees libcurl.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operator/kube/clock.h"
#include "operator/kube/kubeconfig.h"

namespace kubecnn::kube {

struct HttpRequest {
  std::string method;
  std::string target;  // path?query, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// How much of an answer is taken: more means the server is not an API server (or misbehaves), and
// the request fails instead of the process running out of memory. An object is at most a few MiB
// (etcd's request limit is 1.5 MiB); a list comes in pages (the reflector's are 500 objects).
struct HttpLimits {
  size_t max_body_bytes = size_t{256} << 20;  // a one-shot answer's body, or an error's
  size_t max_line_bytes = size_t{64} << 20;   // one line of a stream (a watch event)
};

class HttpTransport {
 public:
  // `timeout`: the most a connection may take to open, a one-shot request to finish, and a stream to
  // go without a byte (a quiet watch is not dead before it). Throws std::invalid_argument when the
  // config's PEM material does not parse (naming config.source).
  HttpTransport(const RestConfig& config, std::chrono::seconds timeout, HttpLimits limits = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Throws TransportError when no response arrives (refused, reset, TLS failure, timeout), or
  // when its body is over the limit.
  HttpResponse Send(const HttpRequest& request);

  // For a 2xx answer, hands each line of the body to `on_line` as it arrives, until the body ends,
  // on_line returns false or `stop` fires (the connection is then closed); the returned body is
  // empty. Any other status returns the whole body without calling on_line. Throws TransportError
  // when the connection fails, before or during the body, or a line (an error's body) is over the
  // limit.
  HttpResponse Stream(const HttpRequest& request, const std::function<bool(std::string_view line)>& on_line,
                      StopSignal* stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubecnn::kube

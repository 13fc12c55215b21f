// A blocking HTTPS GET with client-certificate authentication (libcurl), for probing TLS servers in
// tests: kube-apiserver's /readyz and its objects, the controllers' /healthz.
#pragma once

#include <chrono>
#include <string>

namespace kubecnn::testing {

// Who we are and whom we trust, as PEM text. Empty cert/key: no client certificate. Empty CA and
// not insecure: the system's trust store.
struct TlsClient {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  bool insecure = false;  // skip verifying the server (a self-signed serving certificate)
};

struct HttpsReply {
  long status = 0;  // 0 when no HTTP answer came
  std::string body;
  std::string transport_error;  // libcurl's message when no answer came ("Connection refused", ...)
};

// GET `url` (plain http:// works too; the TLS settings then go unused), giving up after `timeout`.
HttpsReply HttpsGet(const std::string& url, const TlsClient& tls,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace kubecnn::testing

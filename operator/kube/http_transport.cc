// HttpTransport on cpprestsdk's http_client (Boost.Asio + OpenSSL underneath). Streams read the
// response body as it arrives: cpprestsdk completes a request once the headers are in and fills
// the body's producer/consumer buffer chunk by chunk.
#include "operator/kube/http_transport.h"

#include <cpprest/http_client.h>
#include <cpprest/producerconsumerstream.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>

#include "operator/kube/api_error.h"

namespace kubecnn::kube {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void CheckPem(const std::string& pem, bool key, const std::string& what, const std::string& source) {
  if (pem.empty()) return;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  bool ok;
  if (key) {
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    ok = k != nullptr;
    EVP_PKEY_free(k);
  } else {
    X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    ok = c != nullptr;
    X509_free(c);
  }
  BIO_free(bio);
  if (!ok) {
    throw std::invalid_argument(source + ": the " + what + " is not a PEM " + (key ? "private key" : "certificate") +
                                " (check the kubeconfig's " + what + " entry)");
  }
}

std::string TransportHint(const std::string& what) {
  const std::string w = Lower(what);
  if (w.find("certificate") != std::string::npos || w.find("handshake") != std::string::npos ||
      w.find("ssl") != std::string::npos || w.find("tls") != std::string::npos) {
    return "TLS failed: the server's certificate is not signed by the configured certificate-authority, or its "
           "name does not match the server URL; fix the kubeconfig's CA (insecure-skip-tls-verify only for tests)";
  }
  if (w.find("refused") != std::string::npos)
    return "nothing listens there: check the server URL and that the API server runs";
  if (w.find("timed out") != std::string::npos || w.find("timeout") != std::string::npos) {
    return "the API server did not answer in time: check connectivity or raise the client timeout";
  }
  return "check the server URL and network connectivity";
}

// An X509_STORE holding exactly the certificates of `pem` (a CA bundle: one or more).
X509_STORE* StoreOf(const std::string& pem) {
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
  }
  ERR_clear_error();  // the end of the bundle reads as a "no start line" error
  BIO_free(bio);
  return store;
}

}  // namespace

struct HttpTransport::Impl {
  std::string server;
  std::unique_ptr<web::http::client::http_client> client;

  web::http::http_request Build(const HttpRequest& request) const {
    web::http::http_request req(request.method);
    req.set_request_uri(web::uri(request.target));
    for (const auto& [name, value] : request.headers) req.headers().add(name, value);
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
      req.set_body(request.body, request.content_type.empty() ? "application/json" : request.content_type);
    }
    return req;
  }

  static void Fill(const web::http::http_response& resp, HttpResponse* out) {
    out->status = resp.status_code();
    for (const auto& [name, value] : resp.headers()) out->headers[Lower(name)] = value;
  }

  [[noreturn]] void Fail(const HttpRequest& request, const std::string& what) const {
    throw TransportError(request.method + " " + server + request.target + ": " + what + " (" + TransportHint(what) +
                         ")");
  }
};

HttpTransport::HttpTransport(const RestConfig& config, std::chrono::seconds timeout) : impl_(std::make_unique<Impl>()) {
  CheckPem(config.ca_pem, false, "certificate-authority", config.source);
  CheckPem(config.client_cert_pem, false, "client-certificate", config.source);
  CheckPem(config.client_key_pem, true, "client-key", config.source);
  impl_->server = config.server;
  web::http::client::http_client_config cfg;
  cfg.set_timeout(timeout);
  cfg.set_validate_certificates(!config.insecure_skip_tls_verify);
  const std::string ca = config.ca_pem, cert = config.client_cert_pem, key = config.client_key_pem;
  if (!ca.empty() || !cert.empty()) {
    cfg.set_ssl_context_callback([ca, cert, key](boost::asio::ssl::context& ctx) {
      // cpprestsdk has already loaded the system's roots (set_default_verify_paths) into this
      // context; a configured CA replaces them, as in client-go: a cluster is trusted through its
      // own CA only, never through another CA that happens to be in the system's store.
      if (!ca.empty()) SSL_CTX_set_cert_store(ctx.native_handle(), StoreOf(ca));
      if (!cert.empty()) {
        ctx.use_certificate_chain(boost::asio::buffer(cert.data(), cert.size()));
        ctx.use_private_key(boost::asio::buffer(key.data(), key.size()), boost::asio::ssl::context::pem);
      }
    });
  }
  try {
    impl_->client = std::make_unique<web::http::client::http_client>(web::uri(config.server), cfg);
  } catch (const std::exception& e) {
    throw std::invalid_argument(config.source + ": server URL \"" + config.server + "\" is not usable: " + e.what());
  }
}

HttpTransport::~HttpTransport() = default;

HttpResponse HttpTransport::Send(const HttpRequest& request) {
  HttpResponse out;
  try {
    web::http::http_response resp = impl_->client->request(impl_->Build(request)).get();
    Impl::Fill(resp, &out);
    out.body = resp.extract_utf8string(true).get();
  } catch (const web::http::http_exception& e) {
    impl_->Fail(request, e.what());
  } catch (const pplx::task_canceled&) {
    impl_->Fail(request, "request cancelled");
  } catch (const std::system_error& e) {
    impl_->Fail(request, e.what());
  }
  return out;
}

HttpResponse HttpTransport::Stream(const HttpRequest& request,
                                   const std::function<bool(std::string_view line)>& on_line, StopSignal* stop) {
  HttpResponse out;
  pplx::cancellation_token_source cancel;
  const int stop_id = stop ? stop->OnStop([cancel] { cancel.cancel(); }) : -1;
  struct Unregister {
    StopSignal* stop;
    int id;
    ~Unregister() {
      if (stop && id >= 0) stop->RemoveOnStop(id);
    }
  } unregister{stop, stop_id};
  try {
    web::http::http_response resp = impl_->client->request(impl_->Build(request), cancel.get_token()).get();
    Impl::Fill(resp, &out);
    if (out.status < 200 || out.status > 299) {
      out.body = resp.extract_utf8string(true).get();
      return out;
    }
    concurrency::streams::streambuf<uint8_t> body = resp.body().streambuf();
    std::string pending;
    std::vector<uint8_t> buf(64 * 1024);
    while (!(stop && stop->stopped())) {
      // Wait for one byte, then take whatever else has arrived without waiting.
      size_t n = body.getn(buf.data(), 1).get();
      if (n == 0) break;  // end of body
      const size_t avail = std::min(body.in_avail(), buf.size() - 1);
      if (avail > 0) n += body.getn(buf.data() + 1, avail).get();
      pending.append(reinterpret_cast<const char*>(buf.data()), n);
      size_t start = 0;
      for (size_t eol; (eol = pending.find('\n', start)) != std::string::npos; start = eol + 1) {
        if (!on_line(std::string_view(pending).substr(start, eol - start))) {
          cancel.cancel();
          return out;
        }
      }
      pending.erase(0, start);
    }
    if (!pending.empty() && !(stop && stop->stopped())) on_line(pending);
    if (stop && stop->stopped()) cancel.cancel();
  } catch (const web::http::http_exception& e) {
    if (stop && stop->stopped()) return out;
    impl_->Fail(request, e.what());
  } catch (const pplx::task_canceled&) {
    if (stop && stop->stopped()) return out;
    impl_->Fail(request, "request cancelled");
  } catch (const std::exception& e) {
    if (stop && stop->stopped()) return out;
    impl_->Fail(request, std::string("stream broken: ") + e.what());
  }
  return out;
}

}  // namespace kubecnn::kube

// HttpTransport on libcurl. A one-shot request runs on the calling thread, on an easy handle taken
// from a pool (each keeps its keep-alive connection to the API server); a stream runs on the
// calling thread too, on a handle of its own driven through a multi handle, so that a stop wakes
// its poll at once. Nothing hops between threads: no request costs a context switch.
#include "operator/kube/http_transport.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <exception>
#include <mutex>

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
  ERR_clear_error();
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
  if (w.find("refused") != std::string::npos || w.find("couldn't connect") != std::string::npos)
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

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Whom a connection trusts, set on each new TLS context: the configured CA alone, as client-go;
// OpenSSL's default store (SSL_CERT_FILE/SSL_CERT_DIR, else the system's) only when none is.
CURLcode SetTrust(CURL*, void* ssl_ctx, void* ca_pem) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  const auto* ca = static_cast<const std::string*>(ca_pem);
  if (ca->empty()) {
    SSL_CTX_set_default_verify_paths(ctx);
  } else {
    SSL_CTX_set_cert_store(ctx, StoreOf(*ca));
  }
  return CURLE_OK;
}

// The headers of the final answer (an interim 1xx answer starts a new block).
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<HttpResponse*>(user);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    out->headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    out->headers[Lower(std::string(line.substr(0, colon)))] = std::string(value);
  }
  return size * count;
}

std::string Mib(size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// A one-shot answer's body, up to a limit.
struct BodyState {
  std::string* body = nullptr;
  size_t max_bytes = 0;
  bool too_large = false;
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* b = static_cast<BodyState*>(user);
  const size_t n = size * count;
  if (b->body->size() + n > b->max_bytes) {
    b->too_large = true;
    return 0;  // ends the transfer
  }
  b->body->append(data, n);
  return n;
}

// A stream's state while libcurl hands it the body.
struct StreamState {
  CURL* easy = nullptr;
  HttpResponse* out = nullptr;
  const std::function<bool(std::string_view line)>* on_line = nullptr;
  HttpLimits limits;
  std::string pending;
  bool too_large = false;           // a line, or an error's body, over its limit
  bool ended_by_reader = false;     // on_line returned false
  std::exception_ptr reader_error;  // on_line threw: rethrown once libcurl has let go
};

size_t OnStreamBody(char* data, size_t size, size_t count, void* user) {
  auto* s = static_cast<StreamState*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {  // an error's body is returned whole
    if (s->out->body.size() + n > s->limits.max_body_bytes) {
      s->too_large = true;
      return 0;
    }
    s->out->body.append(data, n);
    return n;
  }
  s->pending.append(data, n);
  try {
    size_t start = 0;
    for (size_t eol; (eol = s->pending.find('\n', start)) != std::string::npos; start = eol + 1) {
      if (!(*s->on_line)(std::string_view(s->pending).substr(start, eol - start))) {
        s->ended_by_reader = true;
        return 0;  // ends the transfer
      }
    }
    s->pending.erase(0, start);
    if (s->pending.size() > s->limits.max_line_bytes) {
      s->too_large = true;
      return 0;
    }
  } catch (...) {
    s->reader_error = std::current_exception();
    return 0;
  }
  return n;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

}  // namespace

struct HttpTransport::Impl {
  std::string server;
  std::string ca_pem, cert_pem, key_pem;
  bool insecure = false;
  bool loopback = false;  // a server on this machine is never reached through a proxy (as client-go)
  std::chrono::seconds timeout{30};
  HttpLimits limits;

  std::mutex mu;
  std::vector<CURL*> idle;  // handles between requests, each with its connection kept alive

  ~Impl() {
    for (CURL* easy : idle) curl_easy_cleanup(easy);
  }

  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        CURL* easy = idle.back();
        idle.pop_back();
        curl_easy_reset(easy);  // options only: the live connection stays
        return easy;
      }
    }
    return curl_easy_init();
  }

  void Give(CURL* easy) {
    std::lock_guard<std::mutex> lock(mu);
    idle.push_back(easy);
  }

  // What every request on `easy` shares: TLS, HTTP/1.1, no signals; then this request's method,
  // target, headers and body. `headers` must outlive the transfer.
  void Prepare(CURL* easy, const HttpRequest& request, HeaderList* headers, HttpResponse* out, char* error) {
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count() * 1000));
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
    if (loopback) curl_easy_setopt(easy, CURLOPT_PROXY, "");  // else https_proxy and no_proxy apply
    curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);          // trust comes from SetTrust alone
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
    if (insecure) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, SetTrust);
      curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, &ca_pem);
    }
    if (!cert_pem.empty()) {
      curl_blob cert{cert_pem.data(), cert_pem.size(), CURL_BLOB_NOCOPY};
      curl_blob key{key_pem.data(), key_pem.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
    const std::string url = server + request.target;
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());  // libcurl copies strings it is given
    curl_slist* list = nullptr;
    for (const auto& [name, value] : request.headers) list = curl_slist_append(list, (name + ": " + value).c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip before a body
    const bool with_body =
        !request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
    if (with_body) {
      const std::string type = request.content_type.empty() ? "application/json" : request.content_type;
      list = curl_slist_append(list, ("Content-Type: " + type).c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());  // not copied: the request outlives it
    }
    headers->reset(list);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    if (request.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, out);
  }

  [[noreturn]] void FailTooLarge(const HttpRequest& request, const std::string& what) const {
    throw AnswerTooLarge(request.method + " " + server + request.target + ": " + what +
                         " (no API server answers so much: check that the server URL is the API server's)");
  }

  [[noreturn]] void Fail(const HttpRequest& request, CURLcode code, const char* error) const {
    const std::string what = *error ? std::string(error) : std::string(curl_easy_strerror(code));
    throw TransportError(request.method + " " + server + request.target + ": " + what + " (" + TransportHint(what) +
                         ")");
  }
};

HttpTransport::HttpTransport(const RestConfig& config, std::chrono::seconds timeout, HttpLimits limits)
    : impl_(std::make_unique<Impl>()) {
  CheckPem(config.ca_pem, false, "certificate-authority", config.source);
  CheckPem(config.client_cert_pem, false, "client-certificate", config.source);
  CheckPem(config.client_key_pem, true, "client-key", config.source);
  CurlGlobalInit();
  std::string server = config.server;
  while (!server.empty() && server.back() == '/') server.pop_back();
  CURLU* url = curl_url();
  const CURLUcode parsed = curl_url_set(url, CURLUPART_URL, server.c_str(), 0);
  char* scheme = nullptr;
  char* host = nullptr;
  if (parsed == CURLUE_OK) {
    curl_url_get(url, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(url, CURLUPART_HOST, &host, 0);
  }
  const std::string scheme_text = scheme ? scheme : "";
  const std::string host_text = host ? Lower(host) : "";
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(url);
  if (parsed != CURLUE_OK || (scheme_text != "https" && scheme_text != "http")) {
    throw std::invalid_argument(config.source + ": server URL \"" + config.server + "\" is not usable: " +
                                (parsed != CURLUE_OK ? curl_url_strerror(parsed) : "the scheme is not https or http"));
  }
  impl_->server = server;
  impl_->ca_pem = config.ca_pem;
  impl_->cert_pem = config.client_cert_pem;
  impl_->key_pem = config.client_key_pem;
  impl_->insecure = config.insecure_skip_tls_verify;
  impl_->loopback = host_text == "localhost" || host_text == "[::1]" || host_text.rfind("127.", 0) == 0;
  impl_->timeout = timeout;
  impl_->limits = limits;
}

HttpTransport::~HttpTransport() = default;

HttpResponse HttpTransport::Send(const HttpRequest& request) {
  HttpResponse out;
  CURL* easy = impl_->Take();
  if (!easy) throw TransportError(request.method + " " + impl_->server + request.target + ": libcurl has no handle");
  char error[CURL_ERROR_SIZE] = {};
  HeaderList headers;
  impl_->Prepare(easy, request, &headers, &out, error);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(impl_->timeout.count() * 1000));
  BodyState body{&out.body, impl_->limits.max_body_bytes};
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  const CURLcode code = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);  // `error` ends with this call
  if (code != CURLE_OK) {
    curl_easy_cleanup(easy);  // its connection may be half-used
    if (body.too_large) {
      impl_->FailTooLarge(request, "the answer's body is over " + Mib(impl_->limits.max_body_bytes));
    }
    impl_->Fail(request, code, error);
  }
  impl_->Give(easy);
  out.status = static_cast<int>(status);
  return out;
}

HttpResponse HttpTransport::Stream(const HttpRequest& request,
                                   const std::function<bool(std::string_view line)>& on_line, StopSignal* stop) {
  HttpResponse out;
  struct Handles {
    CURL* easy = curl_easy_init();
    CURLM* multi = curl_multi_init();
    ~Handles() {
      if (multi && easy) curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
      curl_multi_cleanup(multi);
    }
  } h;
  if (!h.easy || !h.multi)
    throw TransportError(request.method + " " + impl_->server + request.target + ": libcurl has no handle");
  char error[CURL_ERROR_SIZE] = {};
  HeaderList headers;
  impl_->Prepare(h.easy, request, &headers, &out, error);
  // A watch may be quiet for long: it is dead only when nothing at all arrives for `timeout`.
  curl_easy_setopt(h.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h.easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(impl_->timeout.count()));
  StreamState state;
  state.easy = h.easy;
  state.out = &out;
  state.on_line = &on_line;
  state.limits = impl_->limits;
  curl_easy_setopt(h.easy, CURLOPT_WRITEFUNCTION, OnStreamBody);
  curl_easy_setopt(h.easy, CURLOPT_WRITEDATA, &state);
  curl_multi_add_handle(h.multi, h.easy);

  // Stop() may call its callbacks after this stream has returned: the callback reaches the multi
  // handle only through `waker`, which is emptied before the handle goes.
  struct Waker {
    std::mutex mu;
    CURLM* multi = nullptr;
  };
  auto waker = std::make_shared<Waker>();
  waker->multi = h.multi;
  const int stop_id = stop ? stop->OnStop([waker] {
    std::lock_guard<std::mutex> lock(waker->mu);
    if (waker->multi) curl_multi_wakeup(waker->multi);
  })
                           : -1;
  struct Unregister {
    StopSignal* stop;
    int id;
    std::shared_ptr<Waker> waker;
    ~Unregister() {  // runs before the handles' destructor (declared after them)
      if (stop && id >= 0) stop->RemoveOnStop(id);
      std::lock_guard<std::mutex> lock(waker->mu);
      waker->multi = nullptr;
    }
  } unregister{stop, stop_id, waker};

  CURLcode result = CURLE_OK;
  const auto status = [&] {
    long code = 0;
    curl_easy_getinfo(h.easy, CURLINFO_RESPONSE_CODE, &code);
    return static_cast<int>(code);
  };
  for (int running = 1; running > 0;) {
    if (stop && stop->stopped()) break;
    if (curl_multi_perform(h.multi, &running) != CURLM_OK) break;
    if (running > 0) curl_multi_poll(h.multi, nullptr, 0, 1000, nullptr);
  }
  out.status = status();
  if (stop && stop->stopped()) return out;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(h.multi, &left)) {
    if (msg->msg == CURLMSG_DONE) result = msg->data.result;
  }
  if (state.reader_error) std::rethrow_exception(state.reader_error);
  if (state.ended_by_reader) return out;
  if (state.too_large) {
    impl_->FailTooLarge(request, out.status >= 200 && out.status <= 299
                                     ? "a line of the stream is over " + Mib(impl_->limits.max_line_bytes)
                                     : "the answer's body is over " + Mib(impl_->limits.max_body_bytes));
  }
  if (result != CURLE_OK) impl_->Fail(request, result, error);
  if (out.status >= 200 && out.status <= 299 && !state.pending.empty()) on_line(state.pending);
  return out;
}

}  // namespace kubecnn::kube

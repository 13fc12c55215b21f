// HttpsGet over libcurl, certificates passed as in-memory blobs.
#include "tests/support/https_get.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <stdexcept>

namespace kubecnn::testing {
namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

curl_blob Blob(const std::string& pem) { return curl_blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY}; }

}  // namespace

HttpsReply HttpsGet(const std::string& url, const TlsClient& tls, std::chrono::milliseconds timeout) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  CURL* c = curl.get();
  HttpsReply reply;
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_blob ca = Blob(tls.ca_pem), cert = Blob(tls.cert_pem), key = Blob(tls.key_pem);
  if (tls.insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!tls.ca_pem.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!tls.cert_pem.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  }
  const CURLcode code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  if (code != CURLE_OK) reply.transport_error = error[0] != '\0' ? error : curl_easy_strerror(code);
  return reply;
}

}  // namespace kubecnn::testing

// Classification of S3 outcomes, back-off and hints.
#include "trainer/storage/s3_failure.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>

namespace kubecnn::storage {

S3Outcome ClassifyS3(int curl_code, long http_status, std::string_view error_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK: break;
    // The server's certificate is not trusted or not the endpoint's: configuration, not weather.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return S3Outcome::kPermanent;
    // Everything else a transfer can fail with (refused, reset, timed out, cut short, DNS) may pass.
    default: return S3Outcome::kRetry;
  }
  if (http_status >= 200 && http_status < 300) {
    // CompleteMultipartUpload can answer 200 with an <Error> body.
    if (!error_code.empty())
      return error_code == "InternalError" || error_code == "SlowDown" ? S3Outcome::kRetry : S3Outcome::kPermanent;
    return S3Outcome::kOk;
  }
  if (error_code == "SlowDown" || error_code == "RequestTimeout" || error_code == "InternalError" ||
      error_code == "ServiceUnavailable") {
    return S3Outcome::kRetry;
  }
  if (http_status == 0 || http_status >= 500 || http_status == 429 || http_status == 408) return S3Outcome::kRetry;
  if (error_code == "NoSuchKey") return S3Outcome::kNotFound;
  if (http_status == 404 && error_code.empty()) return S3Outcome::kNotFound;  // HEAD: no body to say which
  return S3Outcome::kPermanent;
}

std::chrono::milliseconds S3RetryDelay(int attempt, double random01, std::chrono::milliseconds base,
                                       std::chrono::milliseconds cap) {
  const double ceiling = std::min(static_cast<double>(cap.count()),
                                  static_cast<double>(base.count()) * std::pow(2.0, std::max(attempt, 1) - 1));
  return std::chrono::milliseconds(static_cast<int64_t>(ceiling * std::clamp(random01, 0.0, 1.0)));
}

std::string S3Hint(long http_status, std::string_view error_code, std::string_view credential_source,
                   std::string_view endpoint) {
  const std::string source(credential_source);
  if (error_code == "NoSuchBucket") {
    return "no such bucket at " + std::string(endpoint) +
           "; create it, or check the bucket name and AWS_ENDPOINT_URL_S3";
  }
  if (error_code == "NoSuchKey" || http_status == 404) return "no such object; check the path";
  if (error_code == "InvalidAccessKeyId")
    return "the access key id from " + source + " is unknown to " + std::string(endpoint);
  if (error_code == "SignatureDoesNotMatch") {
    return "the secret key from " + source + " does not match its access key id";
  }
  if (error_code == "RequestTimeTooSkewed") return "this machine's clock is off by more than 15 minutes; fix NTP";
  if (error_code == "ExpiredToken" || error_code == "InvalidToken") {
    return "the session token from " + source + " has expired or is invalid; renew the credentials";
  }
  if (http_status == 403) return "check that the credentials from " + source + " are allowed to do this";
  if (http_status == 301 || error_code == "PermanentRedirect" || error_code == "AuthorizationHeaderMalformed") {
    return "the bucket is in another region; set AWS_REGION to it";
  }
  return "";
}

}  // namespace kubecnn::storage

// What an S3 request's outcome means: success, a fault worth retrying, or a refusal no retry will
// change; the jittered back-off between tries; and the words that tell a user what to do. Pure
// functions of the curl code, HTTP status and S3 error code, so a table test covers them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace kubecnn::storage {

enum class S3Outcome {
  kOk,
  kRetry,      // 5xx, 429, SlowDown, RequestTimeout, timeouts, resets, truncated bodies
  kNotFound,   // NoSuchKey, or a 404 to a HEAD (which carries no body)
  kPermanent,  // NoSuchBucket, 403s, other 4xx, TLS verification failures
};

// curl_code is the CURLcode of the transfer (0 for a complete answer); http_status 0 when no
// answer came.
S3Outcome ClassifyS3(int curl_code, long http_status, std::string_view error_code);

// The delay before try number `attempt` + 1 (attempt >= 1): "full jitter", uniformly in
// [0, min(cap, base * 2^(attempt-1))), drawn from random01 in [0, 1).
std::chrono::milliseconds S3RetryDelay(int attempt, double random01,
                                       std::chrono::milliseconds base = std::chrono::milliseconds(100),
                                       std::chrono::milliseconds cap = std::chrono::milliseconds(5000));

// What to do about a refusal, in parentheses-ready words, e.g. for AccessDenied: "check that the
// credentials from <source> may read s3://bucket/key". Empty when there is nothing to add.
std::string S3Hint(long http_status, std::string_view error_code, std::string_view credential_source,
                   std::string_view endpoint);

}  // namespace kubecnn::storage

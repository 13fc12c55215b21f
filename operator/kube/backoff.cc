// BackoffDelay, ParseRetryAfter and DecideRetry.
#include "operator/kube/backoff.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace kubecnn::kube {

Millis BackoffDelay(const BackoffPolicy& policy, int failures, double random01) {
  const double base = static_cast<double>(policy.initial.count()) * std::pow(policy.factor, std::max(0, failures));
  const double capped = std::min(base, static_cast<double>(policy.max.count()));
  return Millis(static_cast<int64_t>(capped * (1.0 + policy.jitter * random01)));
}

std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& header) {
  if (header.empty() || header.size() > 9) return std::nullopt;
  for (char c : header) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::chrono::seconds(std::stol(header));
}

RetryDecision DecideRetry(int status, std::optional<std::chrono::seconds> retry_after, bool idempotent, int attempt,
                          const RetryPolicy& policy, double random01) {
  if (attempt >= policy.max_attempts) return {};
  const bool server_error = status >= 500 && status != 501;
  if (status != 429 && !(server_error && (retry_after || idempotent))) return {};
  if (retry_after) {
    return {true, std::chrono::duration_cast<Millis>(std::min<std::chrono::seconds>(*retry_after, policy.max_wait))};
  }
  return {true, BackoffDelay(policy.backoff, attempt - 1, random01)};
}

}  // namespace kubecnn::kube

// Back-off and retry decisions, as pure functions of attempt counts, status codes and randomness.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace kubecnn::kube {

using Millis = std::chrono::milliseconds;

struct BackoffPolicy {
  Millis initial{800};
  Millis max{30000};
  double factor = 2.0;
  double jitter = 0.0;  // the delay grows by up to this fraction, drawn from `random01`
};

// initial * factor^failures, capped at max, then stretched by jitter*random01 (random01 in [0,1)).
Millis BackoffDelay(const BackoffPolicy& policy, int failures, double random01 = 0.0);

// A Retry-After header in delta-seconds ("3"); nullopt for absent, negative or HTTP-date forms.
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& header);

struct RetryPolicy {
  int max_attempts = 10;              // client-go's maxRetries
  std::chrono::seconds max_wait{60};  // a longer Retry-After is cut to this
  BackoffPolicy backoff{Millis(100), Millis(10000), 2.0, 0.2};
};

struct RetryDecision {
  bool retry = false;
  Millis delay{0};
};

// Whether attempt number `attempt` (1-based) that got `status` should be retried, and after how
// long: 429 always (it was not processed); 5xx when the server said Retry-After, or for idempotent
// reads; never past max_attempts. Retry-After wins over the computed back-off.
RetryDecision DecideRetry(int status, std::optional<std::chrono::seconds> retry_after, bool idempotent, int attempt,
                          const RetryPolicy& policy, double random01);

}  // namespace kubecnn::kube

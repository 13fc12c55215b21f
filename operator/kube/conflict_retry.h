// Optimistic concurrency: updates carry the resourceVersion they were based on; on 409 Conflict
// re-read, re-apply the change and try again (client-go's retry.RetryOnConflict).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "operator/kube/client.h"

namespace kubecnn::kube {

struct ConflictRetry {
  int steps = 5;  // attempts in all
  Duration delay = std::chrono::milliseconds(10);
  double jitter = 0.1;
};

// Runs `attempt` until it does not throw a 409 Conflict, at most `retry.steps` times, sleeping on
// `clock` in between; rethrows the last conflict (or any other error at once).
void RetryOnConflict(const ConflictRetry& retry, Clock& clock, const std::function<void()>& attempt);

// Get -> mutate a copy -> Update (or UpdateStatus), again from a fresh Get on conflict. `mutate`
// returns false when there is nothing to change (then nothing is written). Returns the stored object.
nlohmann::json UpdateWithRetry(Client& client, const Resource& resource, const std::string& ns, const std::string& name,
                               const std::function<bool(nlohmann::json&)>& mutate, bool status = false,
                               const ConflictRetry& retry = {});

}  // namespace kubecnn::kube

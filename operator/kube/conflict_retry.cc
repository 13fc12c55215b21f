// RetryOnConflict and UpdateWithRetry.
#include "operator/kube/conflict_retry.h"

#include <random>

#include "operator/kube/api_error.h"

namespace kubecnn::kube {

void RetryOnConflict(const ConflictRetry& retry, Clock& clock, const std::function<void()>& attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  for (int i = 1;; ++i) {
    try {
      attempt();
      return;
    } catch (const ApiError& e) {
      if (!IsConflict(e) || i >= retry.steps) throw;
    }
    const double stretch = 1.0 + retry.jitter * std::uniform_real_distribution<double>(0, 1)(rng);
    clock.Sleep(std::chrono::duration_cast<Duration>(retry.delay * stretch));
  }
}

nlohmann::json UpdateWithRetry(Client& client, const Resource& resource, const std::string& ns, const std::string& name,
                               const std::function<bool(nlohmann::json&)>& mutate, bool status,
                               const ConflictRetry& retry) {
  nlohmann::json result;
  RetryOnConflict(retry, client.clock(), [&] {
    nlohmann::json object = client.Get(resource, ns, name);
    if (!mutate(object)) {
      result = std::move(object);
      return;
    }
    result = status ? client.UpdateStatus(resource, object) : client.Update(resource, object);
  });
  return result;
}

}  // namespace kubecnn::kube

// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: one holder
// renews every retry period; others take over once the holder has not renewed for the lease
// duration (measured on their own clock from when they saw the record change, so clock skew does
// not matter); a leader that cannot renew within the renew deadline stops at once; stopping
// releases the lease so a standby takes over without waiting.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "operator/kube/client.h"

namespace kubecnn::kube {

struct LeaderElectionConfig {
  std::string ns = "default";
  std::string name = "kubecnn-operator";
  std::string identity;  // unique per process: pod name + a random suffix
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);
  Duration retry_period = std::chrono::seconds(2);
};
// Throws std::invalid_argument unless lease_duration > renew_deadline > retry_period > 0 and the
// identity is set (client-go's checks).
void ValidateLeaderElectionConfig(const LeaderElectionConfig& config);

struct LeaseRecord {
  std::string holder;
  int64_t lease_duration_seconds = 0;
  std::string acquire_time;  // MicroTime
  std::string renew_time;
  int64_t transitions = 0;
  bool operator==(const LeaseRecord&) const = default;
};
LeaseRecord LeaseRecordFrom(const nlohmann::json& lease);
nlohmann::json LeaseSpec(const LeaseRecord& record);

enum class LeaderAction { kCreate, kRenew, kAcquire, kWait };
struct LeaderDecision {
  LeaderAction action = LeaderAction::kWait;
  LeaseRecord record;  // what to write (for kWait: the record as observed)
};

// What `identity` should do, given the lease as observed (nullopt: no Lease object), when that
// record was first seen in its current form (`observed_since`, local steady clock), `now`, and
// `now_micro` (the wall-clock MicroTime to write).
LeaderDecision Decide(const std::optional<LeaseRecord>& observed, SteadyTime observed_since,
                      const std::string& identity, SteadyTime now, const std::string& now_micro,
                      const LeaderElectionConfig& config);

class LeaderElector {
 public:
  struct Callbacks {
    std::function<void()> on_started_leading;
    std::function<void()> on_stopped_leading;  // called at once when the lease is lost or released
    std::function<void(const std::string& holder)> on_new_leader;
  };
  LeaderElector(Client& client, LeaderElectionConfig config, Callbacks callbacks);

  // Blocks: campaigns until leading or stopped, then renews until the lease is lost or `stop`
  // fires (then releases it). Returns after on_stopped_leading (if it ever led).
  void Run(StopSignal& stop);
  bool IsLeader() const { return leading_; }

 private:
  enum class Attempt { kHeld, kFailed, kHeldByOther };
  Attempt TryAcquireOrRenew();
  void Release();

  Client& client_;
  LeaderElectionConfig config_;
  Callbacks callbacks_;
  std::atomic<bool> leading_{false};
  std::optional<LeaseRecord> observed_;
  SteadyTime observed_since_{};
  std::string last_reported_holder_;
};

}  // namespace kubecnn::kube

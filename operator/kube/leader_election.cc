// Decide (pure) and LeaderElector (the Lease reads/writes around it).
#include "operator/kube/leader_election.h"

#include <cmath>

#include "operator/kube/api_error.h"
#include "trainer/common/log.h"

namespace kubecnn::kube {
namespace {

int64_t WholeSeconds(Duration d) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::chrono::duration<double>(d).count())));
}

}  // namespace

void ValidateLeaderElectionConfig(const LeaderElectionConfig& c) {
  if (c.identity.empty())
    throw std::invalid_argument(
        "leader election: the identity is empty (pass --identity, or leave it out for hostname + a random suffix)");
  if (!(c.lease_duration > c.renew_deadline && c.renew_deadline > c.retry_period &&
        c.retry_period > Duration::zero())) {
    throw std::invalid_argument(
        "leader election: need lease duration > renew deadline > retry period > 0 (defaults 15s, 10s, 2s)");
  }
}

LeaseRecord LeaseRecordFrom(const nlohmann::json& lease) {
  const nlohmann::json spec = lease.value("spec", nlohmann::json::object());
  LeaseRecord r;
  r.holder = spec.value("holderIdentity", "");
  r.lease_duration_seconds = spec.value("leaseDurationSeconds", int64_t{0});
  r.acquire_time = spec.value("acquireTime", "");
  r.renew_time = spec.value("renewTime", "");
  r.transitions = spec.value("leaseTransitions", int64_t{0});
  return r;
}

nlohmann::json LeaseSpec(const LeaseRecord& r) {
  return {{"holderIdentity", r.holder},
          {"leaseDurationSeconds", r.lease_duration_seconds},
          {"acquireTime", r.acquire_time},
          {"renewTime", r.renew_time},
          {"leaseTransitions", r.transitions}};
}

LeaderDecision Decide(const std::optional<LeaseRecord>& observed, SteadyTime observed_since,
                      const std::string& identity, SteadyTime now, const std::string& now_micro,
                      const LeaderElectionConfig& config) {
  const int64_t seconds = WholeSeconds(config.lease_duration);
  if (!observed) return {LeaderAction::kCreate, {identity, seconds, now_micro, now_micro, 0}};
  LeaseRecord next = *observed;
  next.lease_duration_seconds = seconds;
  next.renew_time = now_micro;
  if (observed->holder == identity) return {LeaderAction::kRenew, next};
  const auto valid_for =
      std::chrono::seconds(observed->lease_duration_seconds > 0 ? observed->lease_duration_seconds : seconds);
  if (!observed->holder.empty() && now < observed_since + valid_for) return {LeaderAction::kWait, *observed};
  next.holder = identity;
  next.acquire_time = now_micro;
  next.transitions = observed->transitions + 1;
  return {LeaderAction::kAcquire, next};
}

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config, Callbacks callbacks)
    : client_(client), config_(std::move(config)), callbacks_(std::move(callbacks)) {
  ValidateLeaderElectionConfig(config_);
}

LeaderElector::Attempt LeaderElector::TryAcquireOrRenew() {
  const std::string component = "leader-election " + config_.ns + "/" + config_.name;
  Clock& clock = client_.clock();
  std::optional<nlohmann::json> lease;
  try {
    lease = client_.Get(resources::kLeases, config_.ns, config_.name);
  } catch (const std::exception& e) {
    if (!IsNotFound(e)) {
      LogWarning(component, std::string("reading the lease failed: ") + e.what());
      return Attempt::kFailed;
    }
  }
  const SteadyTime now = clock.Now();
  std::optional<LeaseRecord> record;
  if (lease) record = LeaseRecordFrom(*lease);
  if (record != observed_) {
    observed_ = record;
    observed_since_ = now;
  }
  if (record && record->holder != last_reported_holder_) {
    last_reported_holder_ = record->holder;
    if (!record->holder.empty() && callbacks_.on_new_leader) callbacks_.on_new_leader(record->holder);
  }
  const LeaderDecision decision =
      Decide(observed_, observed_since_, config_.identity, now, FormatMicroTime(clock.WallNow()), config_);
  if (decision.action == LeaderAction::kWait) return Attempt::kHeldByOther;
  try {
    if (decision.action == LeaderAction::kCreate) {
      client_.Create(
          resources::kLeases, config_.ns,
          {{"metadata", {{"name", config_.name}, {"namespace", config_.ns}}}, {"spec", LeaseSpec(decision.record)}});
    } else {
      nlohmann::json updated = *lease;  // carries resourceVersion: a concurrent writer makes this a 409
      updated["spec"] = LeaseSpec(decision.record);
      client_.Update(resources::kLeases, updated);
    }
  } catch (const std::exception& e) {
    if (!IsConflict(e) && !IsAlreadyExists(e)) {
      LogWarning(component, std::string("writing the lease failed: ") + e.what());
    }
    return Attempt::kFailed;  // someone else won the race; the next read shows who
  }
  observed_ = decision.record;
  observed_since_ = now;
  if (decision.action == LeaderAction::kAcquire || decision.action == LeaderAction::kCreate) {
    LogInfo(component, config_.identity + " acquired the lease");
  }
  return Attempt::kHeld;
}

void LeaderElector::Release() {
  try {
    nlohmann::json lease = client_.Get(resources::kLeases, config_.ns, config_.name);
    LeaseRecord record = LeaseRecordFrom(lease);
    if (record.holder != config_.identity) return;
    const std::string now = FormatMicroTime(client_.clock().WallNow());
    record.holder.clear();
    record.lease_duration_seconds = 1;
    record.acquire_time = now;
    record.renew_time = now;
    lease["spec"] = LeaseSpec(record);
    client_.Update(resources::kLeases, lease);
    LogInfo("leader-election", config_.identity + " released the lease");
  } catch (const std::exception& e) {
    LogWarning("leader-election",
               std::string("releasing the lease failed (a standby takes over when it expires): ") + e.what());
  }
}

void LeaderElector::Run(StopSignal& stop) {
  Clock& clock = client_.clock();
  while (!stop.stopped() && TryAcquireOrRenew() != Attempt::kHeld) stop.SleepFor(config_.retry_period);
  if (stop.stopped()) return;
  leading_ = true;
  client_.metrics().SetLeader(true);
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();
  SteadyTime last_renew = clock.Now();
  bool lost = false;
  while (stop.SleepFor(config_.retry_period)) {
    const Attempt attempt = TryAcquireOrRenew();
    if (attempt == Attempt::kHeld) {
      last_renew = clock.Now();
      continue;
    }
    if (attempt == Attempt::kHeldByOther || clock.Now() - last_renew >= config_.renew_deadline) {
      LogError("leader-election", config_.identity + " lost the lease" +
                                      (attempt == Attempt::kHeldByOther ? " to " + last_reported_holder_
                                                                        : std::string(" (could not renew in time)")));
      lost = true;
      break;
    }
  }
  leading_ = false;
  client_.metrics().SetLeader(false);
  if (!lost) Release();
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

}  // namespace kubecnn::kube

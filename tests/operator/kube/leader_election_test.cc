// Leader election: the pure decision table, and two electors with independent clients against one
// API server (exactly one leads; a stopped leader hands over at once; a leader that cannot renew
// stops before the standby takes over, within the lease duration).
#include "operator/kube/leader_election.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/fake_apiserver.h"

namespace kubecnn::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeApiServer;

LeaderElectionConfig Config(const std::string& identity) {
  LeaderElectionConfig c;
  c.ns = "ops";
  c.name = "kubecnn-operator";
  c.identity = identity;
  c.lease_duration = seconds(1);
  c.renew_deadline = milliseconds(600);
  c.retry_period = milliseconds(100);
  return c;
}

TEST(LeaderDecision, FollowsTheLeaseRules) {
  const LeaderElectionConfig config = Config("me");
  const SteadyTime t0{seconds(100)};
  const std::string now = "2026-01-01T00:00:00.000000Z";
  LeaderDecision d = Decide(std::nullopt, t0, "me", t0, now, config);
  EXPECT_EQ(d.action, LeaderAction::kCreate);
  EXPECT_EQ(d.record.holder, "me");
  EXPECT_EQ(d.record.lease_duration_seconds, 1);
  EXPECT_EQ(d.record.acquire_time, now);

  const LeaseRecord mine{"me", 1, "a", "b", 3};
  d = Decide(mine, t0, "me", t0 + seconds(5), now, config);
  EXPECT_EQ(d.action, LeaderAction::kRenew) << "our own lease is renewed, even if late";
  EXPECT_EQ(d.record.renew_time, now);
  EXPECT_EQ(d.record.acquire_time, "a");
  EXPECT_EQ(d.record.transitions, 3);

  const LeaseRecord theirs{"other", 15, "a", "b", 3};
  EXPECT_EQ(Decide(theirs, t0, "me", t0 + seconds(14), now, config).action, LeaderAction::kWait)
      << "their lease duration (15 s), not ours, decides while they hold it";
  d = Decide(theirs, t0, "me", t0 + seconds(15), now, config);
  EXPECT_EQ(d.action, LeaderAction::kAcquire);
  EXPECT_EQ(d.record.holder, "me");
  EXPECT_EQ(d.record.transitions, 4);
  EXPECT_EQ(d.record.acquire_time, now);

  const LeaseRecord released{"", 1, "a", "b", 4};
  EXPECT_EQ(Decide(released, t0, "me", t0, now, config).action, LeaderAction::kAcquire)
      << "a released lease is free at once";
}

TEST(LeaderDecision, ConfigMustOrderDurations) {
  LeaderElectionConfig c = Config("me");
  EXPECT_NO_THROW(ValidateLeaderElectionConfig(c));
  c.renew_deadline = c.lease_duration;
  EXPECT_THROW(ValidateLeaderElectionConfig(c), std::invalid_argument);
  c = Config("");
  EXPECT_THROW(ValidateLeaderElectionConfig(c), std::invalid_argument);
}

// How many candidates lead at once, as their callbacks report it: every start and stop is counted,
// so an overlap shows however short it was.
struct Leadership {
  std::mutex mu;
  int leading = 0;
  int most_at_once = 0;
  int starts = 0;
  void Started() {
    std::lock_guard<std::mutex> lock(mu);
    most_at_once = std::max(most_at_once, ++leading);
    ++starts;
  }
  void Stopped() {
    std::lock_guard<std::mutex> lock(mu);
    --leading;
  }
};

struct Candidate {
  Candidate(FakeApiServer& server, const std::string& identity, const std::string& token,
            Leadership* leadership = nullptr) {
    RestConfig rc;
    rc.server = server.url();
    rc.bearer_token = token;
    rc.qps = 0;
    rc.timeout = seconds(2);
    client = std::make_unique<Client>(rc);
    elector = std::make_unique<LeaderElector>(*client, Config(identity),
                                              LeaderElector::Callbacks{[this, leadership] {
                                                                         if (leadership) leadership->Started();
                                                                         reconciling = true;
                                                                       },
                                                                       [this, leadership] {
                                                                         reconciling = false;
                                                                         if (leadership) leadership->Stopped();
                                                                         stopped_at = std::chrono::steady_clock::now();
                                                                       },
                                                                       [this](const std::string& holder) {
                                                                         std::lock_guard<std::mutex> lock(mu);
                                                                         holders_seen.push_back(holder);
                                                                       }});
    thread = std::thread([this] { elector->Run(stop); });
  }
  ~Candidate() {
    stop.Stop();
    thread.join();
  }
  std::unique_ptr<Client> client;
  std::unique_ptr<LeaderElector> elector;
  StopSignal stop;
  std::thread thread;
  std::atomic<bool> reconciling{false};
  std::chrono::steady_clock::time_point stopped_at{};
  std::mutex mu;
  std::vector<std::string> holders_seen;  // on_new_leader, in order
  bool Saw(const std::string& holder) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(holders_seen.begin(), holders_seen.end(), holder) != holders_seen.end();
  }
};

template <typename Pred>
bool WaitFor(Pred pred, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TEST(LeaderElection, ExactlyOneLeadsAndAStoppedLeaderHandsOverAtOnce) {
  FakeApiServer server;
  Leadership leadership;
  auto a = std::make_unique<Candidate>(server, "operator-a", "", &leadership);
  auto b = std::make_unique<Candidate>(server, "operator-b", "", &leadership);
  ASSERT_TRUE(WaitFor([&] { return a->reconciling || b->reconciling; }, seconds(5)));
  std::unique_ptr<Candidate>& leader = a->reconciling ? a : b;
  std::unique_ptr<Candidate>& standby = a->reconciling ? b : a;
  // Three renewals by the leader, while the standby tries to acquire every retry period.
  const auto renew_time = [&] {
    return standby->client->Get(resources::kLeases, "ops", "kubecnn-operator")["spec"].value("renewTime", "");
  };
  std::string last = renew_time();
  for (int renewals = 0; renewals < 3; ++renewals) {
    ASSERT_TRUE(WaitFor([&] { return renew_time() != last; }, seconds(5))) << "the leader stopped renewing";
    last = renew_time();
  }
  ASSERT_TRUE(standby->Saw(leader == a ? "operator-a" : "operator-b")) << "the standby never read the Lease";
  {
    std::lock_guard<std::mutex> lock(leadership.mu);
    EXPECT_EQ(leadership.most_at_once, 1) << "two candidates led at once";
    EXPECT_EQ(leadership.starts, 1) << "leadership changed hands with nobody stopping";
  }
  const nlohmann::json lease = standby->client->Get(resources::kLeases, "ops", "kubecnn-operator");
  EXPECT_EQ(lease["spec"]["holderIdentity"], leader == a ? "operator-a" : "operator-b");
  const auto stopped = std::chrono::steady_clock::now();
  leader.reset();  // stop: releases the lease (as on SIGTERM)
  ASSERT_TRUE(WaitFor([&] { return standby->reconciling.load(); }, seconds(1)))
      << "the standby must take over within the lease duration";
  {
    std::lock_guard<std::mutex> lock(leadership.mu);
    EXPECT_EQ(leadership.most_at_once, 1) << "the standby led before the leader had stopped";
  }
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, milliseconds(500)) << "a released lease needs no expiry";
  EXPECT_EQ(standby->client->Get(resources::kLeases, "ops", "kubecnn-operator")["spec"]["leaseTransitions"], 1);
}

TEST(LeaderElection, ALeaderThatCannotRenewStopsBeforeTheStandbyTakesOver) {
  FakeApiServer server;
  server.RequireBearerTokens({"token-a", "token-b"});
  Candidate a(server, "operator-a", "token-a");
  ASSERT_TRUE(WaitFor([&] { return a.reconciling.load(); }, seconds(5)));
  Candidate b(server, "operator-b", "token-b");
  // The standby has read the Lease and seen a hold it: it campaigns without leading.
  ASSERT_TRUE(WaitFor([&] { return b.Saw("operator-a"); }, seconds(5)));
  ASSERT_FALSE(b.reconciling);
  // Partition the leader from the API server: its requests now fail.
  const auto cut = std::chrono::steady_clock::now();
  server.RequireBearerTokens({"token-b"});
  bool overlap = false;
  ASSERT_TRUE(WaitFor(
      [&] {
        overlap = overlap || (a.reconciling && b.reconciling);
        return b.reconciling.load();
      },
      seconds(3)));
  const auto took_over = std::chrono::steady_clock::now();
  EXPECT_FALSE(overlap) << "two leaders at once";
  EXPECT_FALSE(a.reconciling);
  EXPECT_LT(a.stopped_at - cut, milliseconds(600 + 250)) << "the leader stops within its renew deadline";
  EXPECT_LT(a.stopped_at, took_over);
  EXPECT_LT(took_over - cut, milliseconds(1000 + 100 + 400)) << "the standby takes over within the lease duration";
}

}  // namespace
}  // namespace kubecnn::kube

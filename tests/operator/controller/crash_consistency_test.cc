// The operator killed between any two API writes of a reconcile: a fresh operator must reach the
// same outcome as an uninterrupted one. For each scenario an uncut run counts the writes made
// after the trigger; then, for every N up to that count, the first operator dies after write N
// (the fake API server drops every later write, unapplied and unanswered) and a second one takes
// over. Without status-first ordering a job that failed for good runs again, a succeeded job trains
// again, and a gang restart goes uncounted.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "operator/controller/conditions.h"
#include "operator/controller/names.h"
#include "tests/operator/controller/controller_harness.h"
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller {
namespace {

using ::kubecnn::testing::RecordedRequest;
using nlohmann::json;
using testing::ControllerHarness;

struct Scenario {
  api::TrainingJob job;
  std::function<void(ControllerHarness&)> trigger;  // the kubelet's report the reconcile acts on
  std::function<bool(ControllerHarness&)> settled;  // the outcome is in place
  std::string settled_what;
  // After settling: what was asserted about the world and the requests sent since the trigger.
  std::function<void(ControllerHarness&, const std::vector<RecordedRequest>&)> check;
};

// Pods created (201) by the requests in `requests`.
std::vector<std::string> CreatedPods(const std::vector<RecordedRequest>& requests) {
  std::vector<std::string> out;
  for (const RecordedRequest& r : requests) {
    if (r.method == "POST" && r.status == 201 && r.path.size() > 5 && r.path.substr(r.path.size() - 5) == "/pods") {
      out.push_back(json::parse(r.body)["metadata"].value("name", ""));
    }
  }
  std::sort(out.begin(), out.end());  // a gang's pods are created side by side, in no set order
  return out;
}

// Runs the scenario with the first operator dying after `cut` writes (none: no cut) of the
// `uncut_writes` an uncut run makes. Returns the writes made from the trigger until settled.
int64_t Run(const Scenario& s, std::optional<int64_t> cut, int64_t uncut_writes = 0) {
  ControllerHarness h;
  h.StartController();
  h.RunToLauncher(s.job);
  if (::testing::Test::HasFatalFailure()) return 0;
  const size_t mark = h.server_.Requests().size();
  const int64_t before = h.server_.AppliedWrites();
  if (cut) h.server_.CutWritesAfter(*cut);
  s.trigger(h);
  if (cut) {
    // The first operator reaches its write N+1 (and is dead from then on), or had no more to make.
    EXPECT_TRUE(h.WaitFor([&] { return h.server_.DroppedWrites() > 0 || s.settled(h); }, "the cut"));
    if (*cut < uncut_writes) {  // else the run would prove nothing about dying there
      EXPECT_GT(h.server_.DroppedWrites(), 0)
          << "the first operator never tried write " << *cut + 1 << " of " << uncut_writes << ": no cut happened";
    }
    h.StopController();
    h.server_.ResumeWrites();
    h.StartController();
  }
  EXPECT_TRUE(h.WaitFor([&] { return s.settled(h); }, s.settled_what));
  const std::vector<RecordedRequest> all = h.server_.Requests();
  s.check(h, std::vector<RecordedRequest>(all.begin() + static_cast<long>(mark), all.end()));
  return h.server_.AppliedWrites() - before;
}

void RunAtEveryCut(const Scenario& s) {
  int64_t writes = 0;
  {
    SCOPED_TRACE("uncut");
    writes = Run(s, std::nullopt);
  }
  ASSERT_GT(writes, 1) << "the reconcile under test makes several writes";
  int64_t runs = 0;
  for (int64_t n = 0; n <= writes && !::testing::Test::HasFailure(); ++n, ++runs) {
    SCOPED_TRACE("operator killed after write " + std::to_string(n) + " of " + std::to_string(writes));
    Run(s, n, writes);
  }
  std::cout << writes << " writes after the trigger; the operator was killed after each of 0.." << writes << " ("
            << runs << " runs)\n";
}

api::TrainingJob SmallJob(const char* clean_pod_policy) {
  api::TrainingJob job = testing::MakeJob(2, 1);
  job.spec.run_policy.clean_pod_policy = clean_pod_policy;
  return job;
}

TEST(CrashConsistency, RejectedConfigurationFailsOnceWhereverTheOperatorDies) {
  Scenario s;
  s.job = SmallJob("All");
  s.trigger = [](ControllerHarness& h) {
    h.Kubelet("r50-launcher", [](json p) { return testing::Failed(p, 2, "Error"); });
  };
  s.settled = [](ControllerHarness& h) { return h.Status().phase == "Failed" && h.Pods().empty(); };
  s.settled_what = "phase Failed and every pod deleted (cleanPodPolicy All)";
  s.check = [](ControllerHarness& h, const std::vector<RecordedRequest>& since) {
    EXPECT_EQ(FindCondition(h.Status(), condition::kFailed)->reason, reason::kPermanentError);
    EXPECT_TRUE(CreatedPods(since).empty()) << "a configuration the trainer rejected is not run again";
  };
  RunAtEveryCut(s);
}

TEST(CrashConsistency, SucceededTrainingIsNotRunAgainWhereverTheOperatorDies) {
  Scenario s;
  s.job = SmallJob("All");
  s.trigger = [](ControllerHarness& h) { h.Kubelet("r50-launcher", [](json p) { return testing::Succeeded(p); }); };
  s.settled = [](ControllerHarness& h) { return h.Status().phase == "Succeeded" && h.Pods().empty(); };
  s.settled_what = "phase Succeeded and every pod deleted (cleanPodPolicy All)";
  s.check = [](ControllerHarness& h, const std::vector<RecordedRequest>& since) {
    EXPECT_EQ(FindCondition(h.Status(), condition::kSucceeded)->reason, reason::kTrainingSucceeded);
    EXPECT_TRUE(CreatedPods(since).empty()) << "a finished training is not run again";
  };
  RunAtEveryCut(s);
}

TEST(CrashConsistency, GangRestartIsCountedOnceWhereverTheOperatorDies) {
  Scenario s;
  s.job = SmallJob("Running");
  s.trigger = [](ControllerHarness& h) {
    h.Kubelet("r50-worker-1", [](json p) { return testing::Failed(p, 137, "OOMKilled"); });
  };
  s.settled = [](ControllerHarness& h) {
    int fresh = 0;
    for (const auto& [name, pod] : h.Pods()) {
      if (pod["metadata"]["labels"][kLabelAttempt] != "1") return false;  // the old gang is not gone yet
      fresh += name.find("-worker-") != std::string::npos;
    }
    return fresh == 2;
  };
  s.settled_what = "the old gang gone and two workers of attempt 1";
  s.check = [](ControllerHarness& h, const std::vector<RecordedRequest>& since) {
    const api::TrainingJobStatus st = h.Status();
    EXPECT_EQ(st.restarts, 1) << "the restart is counted, once";
    EXPECT_EQ(st.attempt, 1);
    EXPECT_EQ(st.phase, "Restarting");
    EXPECT_EQ(CreatedPods(since), (std::vector<std::string>{"r50-worker-0", "r50-worker-1"}))
        << "the new gang is created once, and only after the old one is gone";
  };
  RunAtEveryCut(s);
}

TEST(CrashConsistency, SuspensionIsNotLostWhereverTheOperatorDies) {
  Scenario s;
  s.job = SmallJob("Running");
  s.trigger = [](ControllerHarness& h) {  // the user's patch, straight into the store (not a cut write)
    h.server_.store().MergePatch(*::kubecnn::testing::FindKind("kubecnn.io", "v1alpha1", "trainingjobs"), "ml", "r50",
                                 {{"spec", {{"runPolicy", {{"suspend", true}}}}}}, false);
  };
  s.settled = [](ControllerHarness& h) { return h.Status().phase == "Suspended" && h.Pods().empty(); };
  s.settled_what = "phase Suspended and no pods";
  s.check = [](ControllerHarness& h, const std::vector<RecordedRequest>& since) {
    const api::TrainingJobStatus st = h.Status();
    EXPECT_EQ(st.attempt, 1) << "the suspended gang's attempt is retired once";
    EXPECT_EQ(st.restarts, 0) << "suspension is not a failure";
    EXPECT_TRUE(CreatedPods(since).empty());
  };
  RunAtEveryCut(s);
}

}  // namespace
}  // namespace kubecnn::controller

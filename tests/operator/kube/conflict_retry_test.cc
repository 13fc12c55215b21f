// Optimistic concurrency: an update that lost a race is redone on a fresh read.
#include "operator/kube/conflict_retry.h"

#include <gtest/gtest.h>

#include "operator/kube/api_error.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/fake_clock.h"

namespace kubecnn::kube {
namespace {

using nlohmann::json;

TEST(ConflictRetry, RedoesTheChangeOnAFreshReadAfterAConflict) {
  testing::FakeApiServer server;
  RestConfig rc;
  rc.server = server.url();
  rc.qps = 0;
  Client client(rc);
  client.Create(resources::kTrainingJobs, "ns", {{"metadata", {{"name", "j"}}}, {"spec", {{"workers", 2}}}});
  int attempts = 0;
  const json result = UpdateWithRetry(client, resources::kTrainingJobs, "ns", "j", [&](json& job) {
    if (++attempts == 1) {
      // Someone else writes between our read and our write.
      json theirs = server.store().Get(*testing::FindKind("kubecnn.io", "v1alpha1", "trainingjobs"), "ns", "j");
      theirs["metadata"]["labels"] = {{"touched", "yes"}};
      server.store().Update(*testing::FindKind("kubecnn.io", "v1alpha1", "trainingjobs"), "ns", "j", theirs, false);
    }
    job["spec"]["workers"] = 4;
    return true;
  });
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(result["spec"]["workers"], 4);
  EXPECT_EQ(result["metadata"]["labels"]["touched"], "yes") << "their change survives ours";

  const json status = UpdateWithRetry(
      client, resources::kTrainingJobs, "ns", "j",
      [](json& job) {
        job["status"]["phase"] = "Running";
        return true;
      },
      true);
  EXPECT_EQ(status["status"]["phase"], "Running");
  const std::string rv = status["metadata"]["resourceVersion"];
  EXPECT_EQ(UpdateWithRetry(client, resources::kTrainingJobs, "ns", "j",
                            [](json&) { return false; })["metadata"]["resourceVersion"],
            rv)
      << "nothing to change: nothing written";
}

TEST(ConflictRetry, GivesUpAfterItsStepsAndPassesOtherErrorsThrough) {
  testing::FakeClock clock;
  int calls = 0;
  const ApiError conflict(409, "Conflict", "modified", nullptr, "PUT x: modified");
  EXPECT_THROW(RetryOnConflict({4, std::chrono::milliseconds(10), 0.0}, clock,
                               [&] {
                                 ++calls;
                                 throw conflict;
                               }),
               ApiError);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(clock.sleeps().size(), 3u);
  calls = 0;
  EXPECT_THROW(RetryOnConflict({4, std::chrono::milliseconds(10), 0.0}, clock,
                               [&] {
                                 ++calls;
                                 throw ApiError(404, "NotFound", "gone", nullptr, "GET x: gone");
                               }),
               ApiError);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace kubecnn::kube

// Back-off, Retry-After parsing, retry decisions and rate limiters as pure functions.
#include "operator/kube/backoff.h"

#include <gtest/gtest.h>

#include "operator/kube/rate_limiter.h"

namespace kubecnn::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Backoff, DoublesFromInitialAndStopsAtTheCap) {
  const BackoffPolicy p{milliseconds(800), milliseconds(30000), 2.0, 0.0};
  EXPECT_EQ(BackoffDelay(p, 0), milliseconds(800));
  EXPECT_EQ(BackoffDelay(p, 1), milliseconds(1600));
  EXPECT_EQ(BackoffDelay(p, 5), milliseconds(25600));
  EXPECT_EQ(BackoffDelay(p, 6), milliseconds(30000));
  EXPECT_EQ(BackoffDelay(p, 1000), milliseconds(30000));
  const BackoffPolicy jittered{milliseconds(100), milliseconds(1000), 2.0, 0.5};
  EXPECT_EQ(BackoffDelay(jittered, 0, 0.5), milliseconds(125));
}

TEST(Backoff, ParsesRetryAfterSecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("3"), seconds(3));
  EXPECT_EQ(ParseRetryAfter("0"), seconds(0));
  EXPECT_FALSE(ParseRetryAfter(""));
  EXPECT_FALSE(ParseRetryAfter("-1"));
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"));
}

TEST(Backoff, RetriesThrottlingAlwaysAndServerErrorsOnlyWhenSafe) {
  const RetryPolicy policy;
  struct Case {
    int status;
    std::optional<seconds> retry_after;
    bool idempotent;
    int attempt;
    bool retry;
    milliseconds delay;
  };
  const Case cases[] = {
      {429, seconds(3), false, 1, true, milliseconds(3000)},   // Retry-After wins
      {429, std::nullopt, false, 1, true, milliseconds(100)},  // else back-off
      {429, std::nullopt, false, 3, true, milliseconds(400)},
      {500, seconds(1), false, 1, true, milliseconds(1000)},     // server said it is safe
      {500, std::nullopt, false, 1, false, milliseconds(0)},     // a POST may have been applied
      {503, std::nullopt, true, 1, true, milliseconds(100)},     // a GET may always be repeated
      {429, seconds(600), false, 1, true, milliseconds(60000)},  // capped at max_wait
      {429, seconds(1), false, 10, false, milliseconds(0)},      // out of attempts
      {404, seconds(1), true, 1, false, milliseconds(0)},
      {409, std::nullopt, true, 1, false, milliseconds(0)},
      {501, seconds(1), true, 1, false, milliseconds(0)},
  };
  for (const Case& c : cases) {
    const RetryDecision d = DecideRetry(c.status, c.retry_after, c.idempotent, c.attempt, policy, 0.0);
    EXPECT_EQ(d.retry, c.retry) << c.status << " attempt " << c.attempt;
    if (c.retry) {
      EXPECT_EQ(d.delay, c.delay) << c.status << " attempt " << c.attempt;
    }
  }
}

TEST(TokenBucket, AllowsABurstThenPacesAtQps) {
  const SteadyTime t0{};
  TokenBucket bucket(5, 2, t0);
  EXPECT_EQ(bucket.Reserve(t0), Duration::zero());
  EXPECT_EQ(bucket.Reserve(t0), Duration::zero());
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve(t0)), milliseconds(200));
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve(t0)), milliseconds(400));
  // After a quiet second the bucket is full again, never fuller than the burst.
  const SteadyTime later = t0 + seconds(10);
  EXPECT_EQ(bucket.Reserve(later), Duration::zero());
  EXPECT_EQ(bucket.Reserve(later), Duration::zero());
  EXPECT_GT(bucket.Reserve(later), Duration::zero());
}

TEST(ItemBackoff, GrowsPerKeyFrom5MsTo1000SecondsAndForgets) {
  ControllerRateLimiter limiter(milliseconds(5), seconds(1000), 1e9, 1000000);
  const SteadyTime t{};
  EXPECT_EQ(limiter.When("a", t), milliseconds(5));
  EXPECT_EQ(limiter.When("a", t), milliseconds(10));
  EXPECT_EQ(limiter.When("a", t), milliseconds(20));
  EXPECT_EQ(limiter.When("b", t), milliseconds(5)) << "keys back off independently";
  EXPECT_EQ(limiter.NumRequeues("a"), 3);
  for (int i = 0; i < 30; ++i) limiter.When("a", t);
  EXPECT_EQ(limiter.When("a", t), seconds(1000));
  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a", t), milliseconds(5));
}

TEST(ItemBackoff, OverallBucketLimitsAStormOfDistinctKeys) {
  ControllerRateLimiter limiter(milliseconds(5), seconds(1000), 10, 100);
  const SteadyTime t{};
  Duration last{};
  for (int i = 0; i < 110; ++i) last = limiter.When("key-" + std::to_string(i), t);
  // 100 go at the item delay; the 110th waits for 10 tokens at 10 qps.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(last), milliseconds(1000));
}

}  // namespace
}  // namespace kubecnn::kube

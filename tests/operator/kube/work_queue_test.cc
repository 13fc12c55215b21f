// Work queue semantics: deduplication, one worker per key, rate-limited retries, forget, delays.
#include "operator/kube/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"

namespace kubecnn::kube {
namespace {

using std::chrono::milliseconds;

TEST(WorkQueue, DeduplicatesKeysWhileTheyWait) {
  WorkQueue queue("test");
  queue.Add("a");
  queue.Add("b");
  queue.Add("a");
  EXPECT_EQ(queue.Len(), 2u);
  EXPECT_EQ(queue.Get(), "a");
  EXPECT_EQ(queue.Get(), "b");
}

TEST(WorkQueue, AKeyReAddedWhileProcessingWaitsForDone) {
  WorkQueue queue("test");
  queue.Add("a");
  ASSERT_EQ(queue.Get(), "a");
  queue.Add("a");
  queue.Add("a");
  EXPECT_EQ(queue.Len(), 0u) << "no second worker may get a key that is being processed";
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 1u) << "but it comes back once, after Done";
  EXPECT_EQ(queue.Get(), "a");
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueue, NoKeyIsEverProcessedByTwoWorkersAtOnce) {
  WorkQueue queue("test");
  std::mutex mu;
  std::map<std::string, int> active;
  std::atomic<int> overlaps{0}, processed{0};
  {
    WorkerPool pool(queue, 4, [&](const std::string& key) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (++active[key] > 1) ++overlaps;
      }
      std::this_thread::sleep_for(milliseconds(1));
      queue.Add(key);  // a handler re-adding its own key must not run it concurrently
      {
        std::lock_guard<std::mutex> lock(mu);
        --active[key];
      }
      ++processed;
      return ReconcileResult{};
    });
    for (int round = 0; round < 50; ++round) {
      for (const char* key : {"a", "b", "c"}) queue.Add(key);
    }
    while (processed < 150) std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(overlaps, 0);
}

// Waits (on the real clock, polling) for `done`; false after 10 s.
bool Eventually(const std::function<bool()>& done) {
  return testing::Eventually(done, std::chrono::seconds(10), milliseconds(1));
}

TEST(WorkQueue, FailuresBackOffExponentiallyAndSuccessForgets) {
  testing::FakeClock clock;
  WorkQueue queue("test", nullptr, nullptr, &clock);
  std::atomic<int> attempts{0};
  WorkerPool pool(queue, 2, [&](const std::string&) -> ReconcileResult {
    if (++attempts <= 4) throw std::runtime_error("transient");
    return {};
  });
  queue.Add("job");
  // 5, 10, 20, 40 ms between attempts, on the queue's clock: a millisecond early nothing is due.
  for (int retry = 1; retry <= 4; ++retry) {
    // Failure `retry` is queued with its back-off and both workers wait for work again.
    ASSERT_TRUE(Eventually([&] { return queue.NumRequeues("job") == retry && queue.Waiters() == 2; }))
        << "failure " << retry;
    const milliseconds delay(5 << (retry - 1));
    clock.Advance(delay - milliseconds(1));
    EXPECT_EQ(queue.Len(), 0u) << "retry " << retry << " is not due before " << delay.count() << " ms";
    EXPECT_EQ(attempts, retry);
    clock.Advance(milliseconds(1));
    ASSERT_TRUE(Eventually([&] { return attempts == retry + 1; })) << "retry " << retry << " runs when due";
  }
  ASSERT_TRUE(Eventually([&] { return queue.NumRequeues("job") == 0; })) << "success forgets the back-off";
}

TEST(WorkQueue, AddAfterAndRequeueAfterDelay) {
  testing::FakeClock clock;
  WorkQueue queue("test", nullptr, nullptr, &clock);
  queue.AddAfter("later", milliseconds(50));
  clock.Advance(milliseconds(49));
  EXPECT_EQ(queue.Len(), 0u) << "not due yet";
  clock.Advance(milliseconds(1));
  EXPECT_EQ(queue.Len(), 1u) << "due: seen at once";
  EXPECT_EQ(queue.Get(), "later");
  queue.Done("later");

  std::atomic<int> runs{0};
  WorkerPool pool(queue, 1, [&](const std::string&) {
    return ++runs == 1 ? ReconcileResult{false, milliseconds(60)} : ReconcileResult{};
  });
  queue.Add("periodic");
  ASSERT_TRUE(Eventually([&] { return runs == 1 && queue.Waiters() == 1; })) << "the first pass asked for 60 ms";
  clock.Advance(milliseconds(59));
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(runs, 1);
  clock.Advance(milliseconds(1));
  ASSERT_TRUE(Eventually([&] { return runs == 2; })) << "the requeue runs when due";
}

TEST(WorkQueue, ShutDownReleasesWaitingWorkers) {
  WorkQueue queue("test");
  std::thread waiter([&] { EXPECT_EQ(queue.Get(), std::nullopt); });
  ASSERT_TRUE(Eventually([&] { return queue.Waiters() == 1; })) << "the waiter is blocked in Get";
  queue.ShutDown();
  waiter.join();
  queue.Add("ignored");
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_TRUE(queue.ShuttingDown());
}

}  // namespace
}  // namespace kubecnn::kube

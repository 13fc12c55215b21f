// Work queue semantics: deduplication, one worker per key, rate-limited retries, forget, delays.
#include "operator/kube/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

TEST(WorkQueue, FailuresBackOffExponentiallyAndSuccessForgets) {
  WorkQueue queue("test");
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> attempts;
  {
    WorkerPool pool(queue, 2, [&](const std::string&) -> ReconcileResult {
      std::lock_guard<std::mutex> lock(mu);
      attempts.push_back(std::chrono::steady_clock::now());
      if (attempts.size() <= 4) throw std::runtime_error("transient");
      return {};
    });
    queue.Add("job");
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (attempts.size() >= 5) break;
      }
      std::this_thread::sleep_for(milliseconds(2));
    }
    std::this_thread::sleep_for(milliseconds(5));
    EXPECT_EQ(queue.NumRequeues("job"), 0) << "success forgets the back-off";
  }
  ASSERT_EQ(attempts.size(), 5u);
  // 5, 10, 20, 40 ms between attempts (at least; scheduling only adds).
  for (size_t i = 1; i < attempts.size(); ++i) {
    EXPECT_GE(attempts[i] - attempts[i - 1], milliseconds(5 << (i - 1))) << "retry " << i;
  }
}

TEST(WorkQueue, AddAfterAndRequeueAfterDelay) {
  WorkQueue queue("test");
  const auto start = std::chrono::steady_clock::now();
  queue.AddAfter("later", milliseconds(50));
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Get(), "later");
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(50));
  queue.Done("later");

  std::atomic<int> runs{0};
  std::chrono::steady_clock::time_point first, second;
  {
    WorkerPool pool(queue, 1, [&](const std::string&) {
      (++runs == 1 ? first : second) = std::chrono::steady_clock::now();
      return runs == 1 ? ReconcileResult{false, milliseconds(60)} : ReconcileResult{};
    });
    queue.Add("periodic");
    while (runs < 2) std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_GE(second - first, milliseconds(60));
}

TEST(WorkQueue, ShutDownReleasesWaitingWorkers) {
  WorkQueue queue("test");
  std::thread waiter([&] { EXPECT_EQ(queue.Get(), std::nullopt); });
  std::this_thread::sleep_for(milliseconds(20));
  queue.ShutDown();
  waiter.join();
  queue.Add("ignored");
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_TRUE(queue.ShuttingDown());
}

}  // namespace
}  // namespace kubecnn::kube

// Tests of read_ahead: ranges merged from the plan, the memory budget held, bytes delivered in any
// take order, errors passed on, and a stop that wakes waiting takers.
#include "trainer/storage/read_ahead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

namespace kubecnn::storage {
namespace {

// An in-memory object whose bytes are their own offsets mod 251; counts reads, can fail, can block.
// Asynchronous (`async`), it reads on a thread of its own, as an object store's event loop would.
class MemoryObject : public ReadableObject {
 public:
  MemoryObject(bool async, uint64_t size) : async_(async), size_(size) {}
  ~MemoryObject() override {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stop_ = true;
    }
    queue_cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }
  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  bool ReadAt(uint64_t offset, void* buffer, uint64_t n) const override {
    ++reads;
    if (fail_at_or_after >= 0 && offset >= static_cast<uint64_t>(fail_at_or_after)) {
      throw TransientError("injected read failure");
    }
    if (offset + n > size_) return false;
    auto* out = static_cast<char*>(buffer);
    for (uint64_t i = 0; i < n; ++i) out[i] = static_cast<char>((offset + i) % 251);
    return true;
  }
  bool reads_async() const override { return async_; }
  bool ReadAtAsync(uint64_t offset, char* buffer, uint64_t n, ReadDone done) const override {
    EXPECT_TRUE(async_);
    if (offset + n > size_) return false;
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!worker_.joinable()) worker_ = std::thread([this] { Work(); });
    max_in_flight = std::max(max_in_flight.load(), ++in_flight);
    queue_.push_back([this, offset, buffer, n, done = std::move(done)] {
      std::exception_ptr error;
      try {
        ReadAt(offset, buffer, n);  // virtual: a GatedObject's gate holds this thread too
      } catch (...) {
        error = std::current_exception();
      }
      --in_flight;
      done(error);
    });
    queue_cv_.notify_one();
    return true;
  }
  mutable std::atomic<int> reads{0};
  mutable std::atomic<int> in_flight{0}, max_in_flight{0};  // asynchronous reads
  int64_t fail_at_or_after = -1;

 private:
  void Work() const {
    std::unique_lock<std::mutex> lock(queue_mu_);
    while (true) {
      queue_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto read = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      read();
      lock.lock();
    }
  }

  bool async_;
  std::string path_ = "mem://object";
  uint64_t size_;
  mutable std::mutex queue_mu_;
  mutable std::condition_variable queue_cv_;
  mutable std::deque<std::function<void()>> queue_;
  mutable std::thread worker_;
  bool stop_ = false;
};

// Every test of reading runs twice: objects read by ReadAhead's threads, and asynchronous ones.
class ReadAheadTest : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Objects, ReadAheadTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Asynchronous" : "ReadByThreads";
                         });

std::string Expected(uint64_t offset, uint64_t n) {
  std::string s(n, '\0');
  for (uint64_t i = 0; i < n; ++i) s[i] = static_cast<char>((offset + i) % 251);
  return s;
}

// Position p reads 100 bytes at p * 100 (contiguous records), for `count` positions.
std::function<std::optional<Extent>(int64_t)> Contiguous(int64_t count, int32_t object = 0) {
  return [count, object](int64_t p) -> std::optional<Extent> {
    if (p >= count) return std::nullopt;
    return Extent{object, static_cast<uint64_t>(p) * 100, 100};
  };
}

std::vector<int64_t> Positions(std::initializer_list<int64_t> list) { return list; }

TEST(ReadAhead, CoalesceMergesNeighboursUpToTheMaximumRange) {
  ReadAheadOptions options;
  options.max_range_bytes = 1000;
  options.max_gap_bytes = 0;
  std::vector<Extent> window;
  for (int i = 0; i < 25; ++i) window.push_back({0, static_cast<uint64_t>(i) * 100, 100});
  const auto ranges = CoalesceWindow(7, window, options);
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].offset, 0u);
  EXPECT_EQ(ranges[0].length, 1000u);
  EXPECT_EQ(ranges[0].positions.size(), 10u);
  EXPECT_EQ(ranges[0].positions.front(), 7);
  EXPECT_EQ(ranges[2].length, 500u);
}

TEST(ReadAhead, CoalesceSortsAShuffledWindowPerObjectAndBridgesSmallGaps) {
  ReadAheadOptions options;
  options.max_gap_bytes = 50;
  // Positions 0..5 read records of two shards in shuffled order; shard 0 has a 40-byte gap (kept)
  // and a 160-byte one (split); the same record twice joins the range already holding it.
  const std::vector<Extent> window = {{0, 400, 100}, {1, 0, 100},   {0, 0, 100},
                                      {0, 140, 100}, {1, 100, 100}, {0, 0, 100}};
  const auto ranges = CoalesceWindow(0, window, options);
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].object, 0);  // ordered by first position: 0 (shard 0 @400)
  EXPECT_EQ(ranges[0].offset, 400u);
  EXPECT_EQ(ranges[0].positions, Positions({0}));
  EXPECT_EQ(ranges[1].object, 1);
  EXPECT_EQ(ranges[1].length, 200u);
  EXPECT_EQ(ranges[1].positions, Positions({1, 4}));
  EXPECT_EQ(ranges[2].offset, 0u);
  EXPECT_EQ(ranges[2].length, 240u);
  EXPECT_EQ(ranges[2].positions, Positions({2, 3, 5}));
}

TEST(ReadAhead, CoalesceKeepsAnExtentLongerThanTheMaximumWhole) {
  ReadAheadOptions options;
  options.max_range_bytes = 100;
  const auto ranges = CoalesceWindow(0, {{0, 0, 300}, {0, 300, 10}}, options);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].length, 300u);
}

TEST_P(ReadAheadTest, DeliversEveryPositionsBytesInLargeRanges) {
  MemoryObject object(GetParam(), 100 * 1000);
  ReadAheadOptions options;
  options.max_range_bytes = 10 * 100;
  options.budget_bytes = 4 * 1000;  // windows of 2000 bytes: two ranges each
  options.connections = 3;
  ReadAhead ahead({&object}, Contiguous(1000), 0, options);
  for (int64_t p = 0; p < 1000; ++p) ASSERT_EQ(ahead.Take(p).bytes, Expected(static_cast<uint64_t>(p) * 100, 100)) << p;
  EXPECT_EQ(ahead.ranges_read(), 100);  // 10 records per GET
  EXPECT_EQ(object.reads.load(), 100);
  EXPECT_EQ(ahead.bytes_held(), 0u);
}

TEST(ReadAhead, AsynchronousObjectsHaveAtMostConnectionsReadsInFlight) {
  MemoryObject object(true, 100 * 1000);
  ReadAheadOptions options;
  options.max_range_bytes = 100;  // a read per record
  options.budget_bytes = 10000;
  options.connections = 5;
  ReadAhead ahead({&object}, Contiguous(1000), 0, options);
  for (int64_t p = 0; p < 1000; ++p) ASSERT_EQ(ahead.Take(p).bytes, Expected(static_cast<uint64_t>(p) * 100, 100)) << p;
  EXPECT_EQ(object.reads.load(), 1000);
  EXPECT_LE(object.max_in_flight.load(), 5);
  EXPECT_GE(object.max_in_flight.load(), 2);  // and more than one at a time
}

TEST_P(ReadAheadTest, HoldsTwoWindowsAtMostOneBeingConsumedTheOtherFetched) {
  MemoryObject object(GetParam(), 100 * 1000);
  ReadAheadOptions options;
  options.max_range_bytes = 1000;
  options.budget_bytes = 4000;
  ReadAhead ahead({&object}, Contiguous(1000), 0, options);
  EXPECT_EQ(ahead.bytes_held(), 2000u);  // one window: half the budget
  ahead.Take(0);
  EXPECT_EQ(ahead.bytes_held(), 4000u);  // the next one, fetched while this one is consumed
  for (int64_t p = 1; p < 10; ++p) ahead.Take(p);
  EXPECT_EQ(ahead.bytes_held(), 3000u);  // a range freed: not yet room for a window
  for (int64_t p = 10; p < 20; ++p) ahead.Take(p);
  EXPECT_EQ(ahead.bytes_held(), 4000u);  // the first window gone: the third planned
  for (int64_t p = 20; p < 1000; ++p) {
    ahead.Take(p);
    ASSERT_LE(ahead.bytes_held(), 4000u);
  }
  EXPECT_EQ(ahead.ranges_read(), 100);
}

TEST_P(ReadAheadTest, WindowsWhoseBridgedGapsOutgrowTheBudgetShrinkToFitItTwice) {
  // Records of 100 bytes every 300: the gaps between them are bridged, so a window's range reads
  // three times its records' bytes. A window of 3000 record bytes would hold 8800 bytes, above
  // the budget, and the next window could not be fetched until it was consumed.
  MemoryObject object(GetParam(), 300 * 1000);
  ReadAheadOptions options;
  options.max_gap_bytes = 200;
  options.max_range_bytes = 1 << 20;
  options.budget_bytes = 6000;
  const auto spaced = [](int64_t p) -> std::optional<Extent> {
    if (p >= 1000) return std::nullopt;
    return Extent{0, static_cast<uint64_t>(p) * 300, 100};
  };
  ReadAhead ahead({&object}, spaced, 0, options);
  const uint64_t first_window = ahead.bytes_held();
  EXPECT_LE(first_window, 3000u);  // half the budget, in bytes read
  EXPECT_GE(first_window, 2000u);
  ASSERT_EQ(ahead.Take(0).bytes, Expected(0, 100));
  EXPECT_GT(ahead.bytes_held(), first_window);  // the next window, fetched while this one is consumed
  for (int64_t p = 1; p < 1000; ++p) {
    ASSERT_EQ(ahead.Take(p).bytes, Expected(static_cast<uint64_t>(p) * 300, 100)) << p;
    ASSERT_LE(ahead.bytes_held(), 6000u) << p;
  }
  EXPECT_EQ(ahead.bytes_held(), 0u);
}

TEST_P(ReadAheadTest, RefillsInQuarterWindowsWhenEachRecordIsItsOwnRange) {
  // Records 1000 bytes apart, no gap bridged: every record is a GET of its own (a budget far below
  // the data). After the first window, windows are a quarter of the budget, planned as soon as a
  // quarter is free, so that most of the budget is in flight ahead of the consumer.
  MemoryObject object(GetParam(), 1000 * 1000);
  ReadAheadOptions options;
  options.max_gap_bytes = 0;
  options.budget_bytes = 4000;
  const auto sparse = [](int64_t p) -> std::optional<Extent> {
    if (p >= 1000) return std::nullopt;
    return Extent{0, static_cast<uint64_t>(p) * 1000, 100};
  };
  ReadAhead ahead({&object}, sparse, 0, options);
  EXPECT_EQ(ahead.bytes_held(), 2000u);  // the first window: half the budget
  ahead.Take(0);
  EXPECT_EQ(ahead.bytes_held(), 2900u);  // 2100 free: a quarter-budget window
  ahead.Take(1);
  EXPECT_EQ(ahead.bytes_held(), 3800u);  // 1200 free: another
  for (int64_t p = 2; p < 9; ++p) ahead.Take(p);
  EXPECT_EQ(ahead.bytes_held(), 3100u);  // 900 free: not yet room for a window
  ahead.Take(9);
  EXPECT_EQ(ahead.bytes_held(), 4000u);
  for (int64_t p = 10; p < 1000; ++p) {
    ASSERT_EQ(ahead.Take(p).bytes, Expected(static_cast<uint64_t>(p) * 1000, 100)) << p;
    ASSERT_LE(ahead.bytes_held(), 4000u);
  }
  EXPECT_EQ(ahead.ranges_read(), 1000);
}

// Records of 10-300 KiB in 16 objects, read in a new permutation each epoch, as the loader reads
// ImageNet shards: ranges of every length from one record to the maximum come and go in any
// order. Every range reuses arena pages when it can: none comes from the heap, the pages faulted
// in stay near the budget, and four more epochs fault in less than one more range's worth.
TEST_P(ReadAheadTest, RangesOfEveryLengthReuseTheArenaEpochAfterEpoch) {
  constexpr int kObjects = 16, kRecordsPerObject = 60, kRecords = kObjects * kRecordsPerObject;
  std::mt19937_64 random(7);
  std::vector<std::vector<uint64_t>> offsets(kObjects);
  std::vector<std::unique_ptr<MemoryObject>> objects;
  std::vector<const ReadableObject*> views;
  for (int o = 0; o < kObjects; ++o) {
    uint64_t offset = 0;
    for (int r = 0; r <= kRecordsPerObject; ++r) {
      offsets[o].push_back(offset);
      offset += (10u << 10) + random() % (290u << 10);
    }
    objects.push_back(std::make_unique<MemoryObject>(GetParam(), offset));
    views.push_back(objects.back().get());
  }
  std::vector<std::vector<int>> epochs(6, std::vector<int>(kRecords));
  for (auto& order : epochs) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), random);
  }
  const auto extent_at = [&](int64_t p) -> std::optional<Extent> {
    if (p >= static_cast<int64_t>(epochs.size()) * kRecords) return std::nullopt;
    const int record = epochs[static_cast<size_t>(p / kRecords)][static_cast<size_t>(p % kRecords)];
    const int o = record / kRecordsPerObject, r = record % kRecordsPerObject;
    return Extent{o, offsets[o][r], offsets[o][r + 1] - offsets[o][r]};
  };
  ReadAheadOptions options;
  options.budget_bytes = 32u << 20;  // about a quarter of the 150 MB data set
  options.max_range_bytes = 2u << 20;
  options.connections = 4;
  ReadAhead ahead(views, extent_at, 0, options);
  uint64_t high_water_after_two_epochs = 0;
  int wrong = 0;
  for (int64_t p = 0; p < static_cast<int64_t>(epochs.size()) * kRecords; ++p) {
    const Extent extent = *extent_at(p);
    const ExtentBytes taken = ahead.Take(p);
    if (taken.bytes != Expected(extent.offset, extent.length)) ++wrong;
    if (p == 2 * kRecords) high_water_after_two_epochs = ahead.arena().high_water();
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(ahead.heap_buffers(), 0);
  // Later epochs reuse what the first two faulted in: at most two more ranges' worth (where first
  // fit lands depends on when the connections' transfers end; unbounded growth would reach 2x).
  EXPECT_LE(ahead.arena().high_water(), high_water_after_two_epochs + 2 * options.max_range_bytes);
  EXPECT_LE(ahead.arena().high_water(), options.budget_bytes * 5 / 4);
}

TEST_P(ReadAheadTest, TakesOutOfOrderFromManyThreadsAndResumesMidStream) {
  MemoryObject object(GetParam(), 100 * 2000);
  ReadAheadOptions options;
  options.max_range_bytes = 700;
  options.budget_bytes = 2100;
  ReadAhead ahead({&object}, Contiguous(2000), 500, options);
  std::atomic<int64_t> next{500};
  std::atomic<int> wrong{0};
  std::vector<std::thread> takers;
  for (int t = 0; t < 4; ++t) {
    takers.emplace_back([&] {
      for (int64_t p = next++; p < 2000; p = next++) {
        if (std::string(ahead.Take(p).bytes) != Expected(static_cast<uint64_t>(p) * 100, 100)) ++wrong;
      }
    });
  }
  for (auto& t : takers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ReadAheadTest, AFailedReadReachesEveryTakerOfItsRange) {
  MemoryObject object(GetParam(), 100 * 100);
  object.fail_at_or_after = 5000;
  ReadAheadOptions options;
  options.max_range_bytes = 1000;
  ReadAhead ahead({&object}, Contiguous(100), 0, options);
  for (int64_t p = 0; p < 50; ++p) ahead.Take(p);
  EXPECT_THROW(ahead.Take(50), TransientError);
  EXPECT_THROW(ahead.Take(55), TransientError);
}

TEST_P(ReadAheadTest, AnExtentPastTheObjectsEndIsAnErrorNotAHang) {
  MemoryObject object(GetParam(), 250);
  ReadAheadOptions options;
  options.max_range_bytes = 100;
  ReadAhead ahead({&object}, Contiguous(5), 0, options);  // positions 2.. end past byte 250
  EXPECT_EQ(ahead.Take(0).bytes, Expected(0, 100));
  EXPECT_EQ(ahead.Take(1).bytes, Expected(100, 100));
  EXPECT_THROW(ahead.Take(2), TransientError);
}

// Blocks every read until opened.
class GatedObject : public MemoryObject {
 public:
  using MemoryObject::MemoryObject;
  bool ReadAt(uint64_t offset, void* buffer, uint64_t n) const override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
    return MemoryObject::ReadAt(offset, buffer, n);
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool open_ = false;
};

TEST_P(ReadAheadTest, StopWakesATakerWhoseBytesAreStillOnTheWay) {
  GatedObject object(GetParam(), 1000);
  ReadAhead ahead({&object}, Contiguous(10), 0, ReadAheadOptions{});
  std::atomic<bool> threw{false};
  std::thread taker([&] {
    try {
      ahead.Take(0);
    } catch (const TransientError&) {
      threw = true;
    }
  });
  std::thread stopper([&] { ahead.Stop(); });
  taker.join();  // woken by Stop() while its read is still blocked
  EXPECT_TRUE(threw.load());
  object.Open();  // now the fetch thread can finish, and Stop() return
  stopper.join();
  EXPECT_THROW(ahead.Take(1), TransientError);
}

}  // namespace
}  // namespace kubecnn::storage

// Read-ahead for a reader whose future reads are known (the loader's epoch plan): the extents of a
// window of upcoming positions are sorted per object and merged into large ranges, which are
// fetched over several connections before they are asked for; the bytes held (fetching or
// fetched, not yet taken) stay within a budget. Storage-agnostic; the loader uses it when the
// shards are remote. Objects that read asynchronously (S3: one transfer thread for all
// connections) are given every range at once, up to `connections` in flight; others are read by a
// thread per connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trainer/storage/range_arena.h"
#include "trainer/storage/storage.h"

namespace kubecnn::storage {

struct Extent {
  int32_t object = 0;  // index into the objects given to ReadAhead
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct ReadAheadOptions {
  uint64_t budget_bytes = 256u << 20;   // fetched-or-fetching bytes not yet taken
  int connections = 16;                 // ranges in flight
  uint64_t max_range_bytes = 8u << 20;  // extents merge into ranges up to this size
  uint64_t max_gap_bytes = 512u << 10;  // ... across gaps up to this size (read and dropped)
};

// One GET: a byte range of an object and the positions whose extents it holds.
struct RangePlan {
  int32_t object = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::vector<int64_t> positions;  // ascending
};

// Merges the extents of a window of positions (first + i holds extents[i]) into ranges: per
// object by offset, neighbours at most max_gap apart, each range at most max_range long (an
// extent longer than that is a range of its own); an extent inside a range already (the same
// record twice in a window) joins it. Ranges come in the order of their first position. Pure.
std::vector<RangePlan> CoalesceWindow(int64_t first, const std::vector<Extent>& extents,
                                      const ReadAheadOptions& options);

// A taken extent's bytes, in place in the range that was read: no copy; the range's memory lives
// as long as some view of it does.
struct ExtentBytes {
  std::shared_ptr<const char[]> holder;
  std::string_view bytes;
};

class ReadAhead {
 public:
  // `extent_at(p)` says which bytes position p of the stream needs; nullopt past the stream's end.
  // Reading starts at `first_position`. The objects must outlive this.
  ReadAhead(std::vector<const ReadableObject*> objects, std::function<std::optional<Extent>(int64_t)> extent_at,
            int64_t first_position, ReadAheadOptions options);
  ~ReadAhead();  // Stop()s
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The bytes of position p's extent, waiting for them if needed. Each position is taken at most
  // once; a range's memory is freed when all its positions have been taken. Rethrows the error of
  // the read that failed (TransientError after the backend's retries, or a StorageError).
  ExtentBytes Take(int64_t position);

  // Ends the fetching; a Take() waiting or called later throws. Idempotent.
  void Stop();

  int64_t ranges_read() const;
  uint64_t bytes_held() const;
  // Ranges whose buffer came from the heap because the arena had no run long enough for them.
  int64_t heap_buffers() const { return heap_buffers_.load(); }
  const RangeArena& arena() const { return *arena_; }

 private:
  struct Range;
  struct Slot {
    std::shared_ptr<Range> range;
    Extent extent;
    bool taken = false;
  };
  void IoLoop();
  // Asynchronous objects: under mu_, starts ranges while fewer than `connections` are in flight.
  void StartFetchesLocked();
  // A range's read ended (error: nullptr or what the read threw): an asynchronous read's
  // completion, which takes mu_; and, under mu_, what every way of reading does then.
  void Finished(const std::shared_ptr<Range>& range, std::exception_ptr error);
  void FinishedLocked(Range& range, std::exception_ptr error);
  // n bytes from the arena: pages already faulted in (freshly mapped memory would be faulted in
  // and zeroed by the kernel on every range), or from the heap when the arena has no run that
  // long. Not zero-filled. Thread-safe.
  std::shared_ptr<char[]> Buffer(uint64_t n);
  // Under mu_: plans the next window when enough of the budget is free; true if it planned.
  bool PlanWindowLocked();

  std::vector<const ReadableObject*> objects_;
  std::function<std::optional<Extent>(int64_t)> extent_at_;
  ReadAheadOptions options_;

  mutable std::mutex mu_;
  std::condition_variable io_cv_;     // I/O threads: a range to fetch, or stop
  std::condition_variable ready_cv_;  // takers: a range finished, or stop
  bool stop_ = false;
  bool end_of_stream_ = false;
  int64_t first_slot_position_;  // position of slots_.front()
  std::deque<Slot> slots_;       // planned positions from first_slot_position_ on
  uint64_t bytes_held_ = 0;
  int64_t ranges_read_ = 0;
  // Windows are budget / window_divisor_. Half: large windows, so that neighbouring records share
  // a GET, two of them so that the next is fetched while this one is consumed (a range is freed
  // only when all its records are taken, in a permutation near the end of its window). A quarter
  // once a window's records are mostly GETs of their own (a budget far below the data: ImageNet's
  // 150 GB against 256 MiB), where nothing is gained by large windows and three quarters of the
  // budget stay in flight ahead of the consumer, hiding the store's latency.
  uint64_t window_divisor_ = 2;
  std::deque<std::shared_ptr<Range>> to_fetch_;
  bool async_ = false;  // every object reads_async(): no threads of our own
  int in_flight_ = 0;   // asynchronous reads started, not yet finished
  std::vector<std::thread> threads_;
  std::shared_ptr<RangeArena> arena_;  // outlives this while views of its buffers do
  std::atomic<int64_t> heap_buffers_{0};
};

}  // namespace kubecnn::storage

// Read-ahead for a reader whose future reads are known (the loader's epoch plan): ranges are
// fetched over several connections before they are asked for, adjacent extents of one object are
// merged into large ranges, and the bytes held (fetching or fetched, not yet taken) stay within a
// budget. Storage-agnostic; the loader uses it when the shards are remote.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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
  uint64_t max_gap_bytes = 64u << 10;   // ... across gaps up to this size (read and dropped)
};

// Merges the extents of positions first..end (as far as `extent_at` gives them) into one range:
// same object, each starting at or after the previous end within max_gap, the total within
// max_range (a first extent longer than that is a range of its own). Returns how many positions
// the range covers. Pure; exposed for tests.
struct RangePlan {
  int32_t object = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  int64_t positions = 0;
};
RangePlan PlanRange(const std::function<std::optional<Extent>(int64_t)>& extent_at, int64_t first,
                    const ReadAheadOptions& options);

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
  std::string Take(int64_t position);

  // Ends the fetching; a Take() waiting or called later throws. Idempotent.
  void Stop();

  int64_t ranges_read() const;
  uint64_t bytes_held() const;

 private:
  struct Range;
  void IoLoop();
  // Under mu_: plans ranges while the budget allows; true if one was added.
  bool PlanMoreLocked();
  std::shared_ptr<Range> RangeForLocked(int64_t position);

  std::vector<const ReadableObject*> objects_;
  std::function<std::optional<Extent>(int64_t)> extent_at_;
  ReadAheadOptions options_;

  mutable std::mutex mu_;
  std::condition_variable io_cv_;     // I/O threads: a range to fetch, or stop
  std::condition_variable ready_cv_;  // takers: a range finished
  bool stop_ = false;
  bool end_of_stream_ = false;
  int64_t next_plan_position_;
  uint64_t bytes_held_ = 0;
  int64_t ranges_read_ = 0;
  std::deque<std::shared_ptr<Range>> ranges_;  // by first position, oldest first
  std::deque<std::shared_ptr<Range>> to_fetch_;
  std::vector<std::thread> threads_;
};

}  // namespace kubecnn::storage

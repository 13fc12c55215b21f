// ReadAhead: windows of the plan coalesced into ranges, fetched asynchronously or by a thread per
// connection, budgeted memory.
#include "trainer/storage/read_ahead.h"

#include <algorithm>
#include <map>

namespace kubecnn::storage {

struct ReadAhead::Range {
  RangePlan plan;
  int64_t remaining = 0;          // positions not yet taken
  std::shared_ptr<char[]> bytes;  // plan.length bytes once done
  bool done = false;
  std::exception_ptr error;
};

std::vector<RangePlan> CoalesceWindow(int64_t first, const std::vector<Extent>& extents,
                                      const ReadAheadOptions& options) {
  std::map<int32_t, std::vector<std::pair<Extent, int64_t>>> by_object;
  for (size_t i = 0; i < extents.size(); ++i) {
    by_object[extents[i].object].emplace_back(extents[i], first + static_cast<int64_t>(i));
  }
  std::vector<RangePlan> ranges;
  for (auto& [object, items] : by_object) {
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return a.first.offset != b.first.offset ? a.first.offset < b.first.offset : a.second < b.second;
    });
    RangePlan* open = nullptr;
    for (const auto& [extent, position] : items) {
      if (open) {
        const uint64_t end = open->offset + open->length;
        const uint64_t new_end = std::max(end, extent.offset + extent.length);
        const bool inside = extent.offset + extent.length <= end;
        const bool near = extent.offset >= end && extent.offset - end <= options.max_gap_bytes;
        if (inside || (near && new_end - open->offset <= options.max_range_bytes)) {
          open->length = new_end - open->offset;
          open->positions.push_back(position);
          continue;
        }
      }
      ranges.push_back(RangePlan{object, extent.offset, extent.length, {position}});
      open = &ranges.back();
    }
  }
  for (RangePlan& range : ranges) std::sort(range.positions.begin(), range.positions.end());
  std::sort(ranges.begin(), ranges.end(),
            [](const RangePlan& a, const RangePlan& b) { return a.positions.front() < b.positions.front(); });
  return ranges;
}

namespace {

// The arena's address space: twice the budget, room for the first-fit's fragmentation (its pages
// are faulted in only as used: ReadAheadTest.RangesOfEveryLengthReuseTheArenaEpochAfterEpoch sees
// about 1.02x the budget), and one maximum range besides.
uint64_t ArenaBytes(const ReadAheadOptions& options) { return 2 * options.budget_bytes + options.max_range_bytes; }

uint64_t RangeBytes(const std::vector<RangePlan>& ranges) {
  uint64_t bytes = 0;
  for (const RangePlan& range : ranges) bytes += range.length;
  return bytes;
}

std::string ShortObjectMessage(const ReadableObject& object, uint64_t offset, uint64_t length) {
  return "reading " + object.path() + " at offset " + std::to_string(offset) + ": the object ends before the " +
         std::to_string(length) + " bytes the record index expects (was it rewritten while training?)";
}

}  // namespace

ReadAhead::ReadAhead(std::vector<const ReadableObject*> objects,
                     std::function<std::optional<Extent>(int64_t)> extent_at, int64_t first_position,
                     ReadAheadOptions options)
    : objects_(std::move(objects)),
      extent_at_(std::move(extent_at)),
      options_(options),
      first_slot_position_(first_position),
      arena_(std::make_shared<RangeArena>(ArenaBytes(options_))) {
  async_ = !objects_.empty() && std::all_of(objects_.begin(), objects_.end(),
                                            [](const ReadableObject* object) { return object->reads_async(); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    PlanWindowLocked();
  }
  if (async_) return;
  for (int i = 0; i < std::max(1, options_.connections); ++i) threads_.emplace_back([this] { IoLoop(); });
}

ReadAhead::~ReadAhead() { Stop(); }

void ReadAhead::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  io_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // The reads in flight write into our buffers and call back into this object: they end first.
  std::unique_lock<std::mutex> lock(mu_);
  io_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

bool ReadAhead::PlanWindowLocked() {
  if (stop_ || end_of_stream_) return false;
  // Plan in windows of budget / window_divisor_ (always when nothing is held, whatever one record
  // weighs), see ReadAhead::window_divisor_.
  const uint64_t window_bytes = options_.budget_bytes / window_divisor_;
  const uint64_t free = bytes_held_ < options_.budget_bytes ? options_.budget_bytes - bytes_held_ : 0;
  if (bytes_held_ > 0 && free < window_bytes) return false;
  const int64_t first = first_slot_position_ + static_cast<int64_t>(slots_.size());
  std::vector<Extent> window;
  uint64_t bytes = 0;
  constexpr size_t kMaxWindowPositions = 1 << 16;
  const uint64_t target = std::min(free, window_bytes);
  while (window.empty() || (bytes < target && window.size() < kMaxWindowPositions)) {
    const auto extent = extent_at_(first + static_cast<int64_t>(window.size()));
    if (!extent) {
      end_of_stream_ = true;
      break;
    }
    window.push_back(*extent);
    bytes += extent->length;
  }
  if (window.empty()) return false;
  std::vector<RangePlan> ranges = CoalesceWindow(first, window, options_);
  // Bridged gaps make the ranges longer than the records: a window over much of the data (a
  // permutation against a large budget) reads half as much again. The window shrinks until its
  // ranges fit the target, so that the next one fits beside it and is fetched while this one is
  // consumed (a window's ranges are freed only near its end); a few proportional steps get there.
  for (uint64_t held = RangeBytes(ranges); held > target && window.size() > 1; held = RangeBytes(ranges)) {
    const double scale = 0.97 * static_cast<double>(target) / static_cast<double>(held);
    const auto keep = static_cast<size_t>(static_cast<double>(window.size()) * scale);
    window.resize(std::clamp<size_t>(keep, 1, window.size() - 1));
    end_of_stream_ = false;
    ranges = CoalesceWindow(first, window, options_);
  }
  for (const Extent& extent : window) slots_.push_back(Slot{nullptr, extent, false});
  window_divisor_ = window.size() >= 2 * ranges.size() ? 2 : 4;
  for (RangePlan& plan : ranges) {
    auto range = std::make_shared<Range>();
    range->remaining = static_cast<int64_t>(plan.positions.size());
    for (int64_t position : plan.positions) slots_[static_cast<size_t>(position - first_slot_position_)].range = range;
    bytes_held_ += plan.length;
    range->plan = std::move(plan);
    to_fetch_.push_back(std::move(range));
  }
  // One fetch thread per new range: a window of a few ranges does not wake all 64 (on a busy
  // core each wake-up that finds nothing to do is time taken from decoding).
  if (async_) {
    StartFetchesLocked();
  } else if (ranges.size() >= threads_.size()) {
    io_cv_.notify_all();
  } else {
    for (size_t i = 0; i < ranges.size(); ++i) io_cv_.notify_one();
  }
  return true;
}

std::shared_ptr<char[]> ReadAhead::Buffer(uint64_t n) {
  if (char* p = arena_->Allocate(n)) {
    // The deleter keeps the arena mapped while a view of one of its ranges lives.
    return std::shared_ptr<char[]>(p, [arena = arena_, n](char* q) { arena->Free(q, n); });
  }
  ++heap_buffers_;
  return std::shared_ptr<char[]>(new char[n]);
}

void ReadAhead::IoLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    io_cv_.wait(lock, [&] { return stop_ || !to_fetch_.empty(); });
    if (stop_) return;
    std::shared_ptr<Range> range = std::move(to_fetch_.front());
    to_fetch_.pop_front();
    lock.unlock();
    // Not zero-filled: every byte is written by the read (or the range fails).
    std::shared_ptr<char[]> bytes = Buffer(range->plan.length);
    std::exception_ptr error;
    try {
      const ReadableObject& object = *objects_[static_cast<size_t>(range->plan.object)];
      if (!object.ReadAt(range->plan.offset, bytes.get(), range->plan.length)) {
        throw TransientError(ShortObjectMessage(object, range->plan.offset, range->plan.length));
      }
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    range->bytes = std::move(bytes);
    FinishedLocked(*range, error);
  }
}

void ReadAhead::FinishedLocked(Range& range, std::exception_ptr error) {
  range.error = std::move(error);
  range.done = true;
  ++ranges_read_;
  ready_cv_.notify_all();
}

void ReadAhead::StartFetchesLocked() {
  while (!stop_ && !to_fetch_.empty() && in_flight_ < std::max(1, options_.connections)) {
    std::shared_ptr<Range> range = std::move(to_fetch_.front());
    to_fetch_.pop_front();
    const RangePlan& plan = range->plan;
    const ReadableObject& object = *objects_[static_cast<size_t>(plan.object)];
    range->bytes = Buffer(plan.length);  // not zero-filled: the read writes every byte, or fails
    std::exception_ptr error;
    try {
      // The completion takes mu_, held here: it cannot count a read down before it is counted.
      if (plan.length > 0 &&
          object.ReadAtAsync(plan.offset, range->bytes.get(), plan.length,
                             [this, range](std::exception_ptr e) { Finished(range, std::move(e)); })) {
        ++in_flight_;
        continue;
      }
      if (plan.length > 0) throw TransientError(ShortObjectMessage(object, plan.offset, plan.length));
    } catch (...) {
      error = std::current_exception();
    }
    FinishedLocked(*range, error);
  }
}

void ReadAhead::Finished(const std::shared_ptr<Range>& range, std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(mu_);
  --in_flight_;
  FinishedLocked(*range, std::move(error));
  StartFetchesLocked();
  if (in_flight_ == 0) io_cv_.notify_all();  // a Stop() waiting for the last read
}

ExtentBytes ReadAhead::Take(int64_t position) {
  std::unique_lock<std::mutex> lock(mu_);
  if (position < first_slot_position_) {
    throw std::logic_error("ReadAhead::Take(" + std::to_string(position) + "): taken already");
  }
  const auto slot_of = [&] { return static_cast<size_t>(position - first_slot_position_); };
  ready_cv_.wait(lock, [&] {
    if (stop_) return true;
    while (slot_of() >= slots_.size() && PlanWindowLocked()) {
    }
    if (slot_of() >= slots_.size()) return end_of_stream_;
    const Slot& slot = slots_[slot_of()];
    return slot.taken || slot.range->done;
  });
  if (stop_) throw TransientError("read-ahead stopped");
  if (slot_of() >= slots_.size()) {
    throw std::logic_error("ReadAhead::Take(" + std::to_string(position) + "): past the end of the stream");
  }
  Slot& slot = slots_[slot_of()];
  if (slot.taken) throw std::logic_error("ReadAhead::Take(" + std::to_string(position) + "): taken twice");
  const std::shared_ptr<Range> range = slot.range;
  if (range->error) std::rethrow_exception(range->error);
  slot.taken = true;
  ExtentBytes out{range->bytes,
                  std::string_view(range->bytes.get() + (slot.extent.offset - range->plan.offset), slot.extent.length)};
  if (--range->remaining == 0) {
    bytes_held_ -= range->plan.length;
    range->bytes.reset();  // freed when the last view goes
  }
  slot.range.reset();
  while (!slots_.empty() && slots_.front().taken) {
    slots_.pop_front();
    ++first_slot_position_;
  }
  if (PlanWindowLocked()) ready_cv_.notify_all();
  return out;
}

int64_t ReadAhead::ranges_read() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ranges_read_;
}

uint64_t ReadAhead::bytes_held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_held_;
}

}  // namespace kubecnn::storage

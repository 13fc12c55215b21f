// ReadAhead: range planning by position, a fetch thread per connection, budgeted memory.
#include "trainer/storage/read_ahead.h"

#include <algorithm>

namespace kubecnn::storage {

struct ReadAhead::Range {
  RangePlan plan;
  int64_t first_position = 0;
  std::vector<Extent> extents;  // one per position
  std::vector<bool> taken;
  int64_t remaining = 0;
  std::string bytes;
  bool done = false;
  std::exception_ptr error;
};

RangePlan PlanRange(const std::function<std::optional<Extent>(int64_t)>& extent_at, int64_t first,
                    const ReadAheadOptions& options) {
  RangePlan range;
  const auto head = extent_at(first);
  if (!head) return range;
  range.object = head->object;
  range.offset = head->offset;
  range.length = head->length;
  range.positions = 1;
  while (true) {
    const auto next = extent_at(first + range.positions);
    if (!next || next->object != range.object) break;
    const uint64_t end = range.offset + range.length;
    if (next->offset < end || next->offset - end > options.max_gap_bytes) break;
    const uint64_t new_length = next->offset + next->length - range.offset;
    if (new_length > options.max_range_bytes) break;
    range.length = new_length;
    ++range.positions;
  }
  return range;
}

ReadAhead::ReadAhead(std::vector<const ReadableObject*> objects,
                     std::function<std::optional<Extent>(int64_t)> extent_at, int64_t first_position,
                     ReadAheadOptions options)
    : objects_(std::move(objects)),
      extent_at_(std::move(extent_at)),
      options_(options),
      next_plan_position_(first_position) {
  const int n = std::max(1, options_.connections);
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (PlanMoreLocked()) {
    }
  }
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { IoLoop(); });
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
}

bool ReadAhead::PlanMoreLocked() {
  if (stop_ || end_of_stream_) return false;
  // Always let one range be held, however large, so a record bigger than the budget still loads.
  if (!ranges_.empty() && bytes_held_ >= options_.budget_bytes) return false;
  const RangePlan plan = PlanRange(extent_at_, next_plan_position_, options_);
  if (plan.positions == 0) {
    end_of_stream_ = true;
    return false;
  }
  auto range = std::make_shared<Range>();
  range->plan = plan;
  range->first_position = next_plan_position_;
  for (int64_t i = 0; i < plan.positions; ++i) range->extents.push_back(*extent_at_(next_plan_position_ + i));
  range->taken.assign(static_cast<size_t>(plan.positions), false);
  range->remaining = plan.positions;
  next_plan_position_ += plan.positions;
  bytes_held_ += plan.length;
  ranges_.push_back(range);
  to_fetch_.push_back(range);
  return true;
}

void ReadAhead::IoLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    io_cv_.wait(lock, [&] { return stop_ || !to_fetch_.empty(); });
    if (stop_) return;
    std::shared_ptr<Range> range = std::move(to_fetch_.front());
    to_fetch_.pop_front();
    lock.unlock();
    std::string bytes(range->plan.length, '\0');
    std::exception_ptr error;
    try {
      const ReadableObject& object = *objects_[static_cast<size_t>(range->plan.object)];
      if (!object.ReadAt(range->plan.offset, bytes.data(), bytes.size())) {
        throw TransientError("reading " + object.path() + " at offset " + std::to_string(range->plan.offset) +
                             ": the object ends before the " + std::to_string(bytes.size()) +
                             " bytes the record index expects (was it rewritten while training?)");
      }
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    range->bytes = std::move(bytes);
    range->error = error;
    range->done = true;
    ++ranges_read_;
    ready_cv_.notify_all();
  }
}

std::shared_ptr<ReadAhead::Range> ReadAhead::RangeForLocked(int64_t position) {
  // Ranges cover consecutive positions in order: binary search on first_position.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), position,
                             [](int64_t p, const std::shared_ptr<Range>& r) { return p < r->first_position; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  const auto& range = *it;
  if (position >= range->first_position + range->plan.positions) return nullptr;
  return range;
}

std::string ReadAhead::Take(int64_t position) {
  std::unique_lock<std::mutex> lock(mu_);
  std::shared_ptr<Range> range;
  ready_cv_.wait(lock, [&] {
    if (stop_) return true;
    while (position >= next_plan_position_ && PlanMoreLocked()) io_cv_.notify_one();
    range = RangeForLocked(position);
    return (range && range->done) || (!range && (end_of_stream_ || position < next_plan_position_));
  });
  if (stop_) throw TransientError("read-ahead stopped");
  if (!range) {
    throw std::logic_error("ReadAhead::Take(" + std::to_string(position) + "): position already taken or past the end");
  }
  if (range->error) std::rethrow_exception(range->error);
  const size_t index = static_cast<size_t>(position - range->first_position);
  if (range->taken[index]) throw std::logic_error("ReadAhead::Take: position taken twice");
  range->taken[index] = true;
  const Extent& extent = range->extents[index];
  std::string out = range->bytes.substr(extent.offset - range->plan.offset, extent.length);
  if (--range->remaining == 0) {
    bytes_held_ -= range->plan.length;
    range->bytes = std::string();
    while (!ranges_.empty() && ranges_.front()->remaining == 0) ranges_.pop_front();
    // Memory came free: plan further ahead.
    bool planned = false;
    while (PlanMoreLocked()) planned = true;
    if (planned) io_cv_.notify_all();
  }
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

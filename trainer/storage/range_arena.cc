// RangeArena: first-fit allocation with merging of free neighbours over one mapped region.
#include "trainer/storage/range_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <iterator>
#include <new>
#include <stdexcept>

namespace kubecnn::storage {

RangeArena::RangeArena(uint64_t capacity) : capacity_(Round(std::max<uint64_t>(capacity, 1))) {
  void* p = mmap(nullptr, capacity_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<char*>(p);
  free_.emplace(0, capacity_);
  free_bytes_ = capacity_;
}

RangeArena::~RangeArena() { munmap(base_, capacity_); }

char* RangeArena::Allocate(uint64_t n) {
  const uint64_t size = Round(std::max<uint64_t>(n, 1));
  std::lock_guard<std::mutex> lock(mu_);
  // Lowest address first: the pages in use stay packed at the start of the region.
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < size) continue;
    const uint64_t offset = it->first;
    const uint64_t rest = it->second - size;
    free_.erase(it);
    if (rest > 0) free_.emplace(offset + size, rest);
    free_bytes_ -= size;
    high_water_ = std::max(high_water_, offset + size);
    return base_ + offset;
  }
  return nullptr;
}

void RangeArena::Free(char* p, uint64_t n) {
  const uint64_t size = Round(std::max<uint64_t>(n, 1));
  if (p < base_ || p + size > base_ + capacity_ || (p - base_) % kAlignment != 0) {
    throw std::logic_error("RangeArena::Free: not a run of this arena");
  }
  uint64_t offset = static_cast<uint64_t>(p - base_);
  uint64_t length = size;
  std::lock_guard<std::mutex> lock(mu_);
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && next->first < offset + length) throw std::logic_error("RangeArena::Free: freed twice");
  if (next != free_.begin()) {
    auto previous = std::prev(next);
    if (previous->first + previous->second > offset) throw std::logic_error("RangeArena::Free: freed twice");
    if (previous->first + previous->second == offset) {
      offset = previous->first;
      length += previous->second;
      free_.erase(previous);
    }
  }
  if (next != free_.end() && next->first == offset + length) {
    length += next->second;
    free_.erase(next);
  }
  free_.emplace(offset, length);
  free_bytes_ += size;
}

uint64_t RangeArena::free_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_bytes_;
}

uint64_t RangeArena::largest_free_run() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t largest = 0;
  for (const auto& [offset, length] : free_) largest = std::max(largest, length);
  return largest;
}

uint64_t RangeArena::high_water() const {
  std::lock_guard<std::mutex> lock(mu_);
  return high_water_;
}

}  // namespace kubecnn::storage

// RangeArena: memory for read-ahead ranges, carved first-fit from one region mapped once, so that a
// range reuses pages already faulted in instead of making the kernel map and zero fresh ones (our
// own: a pooled free-list by size class left most freed memory in the wrong class, and no malloc
// has a private arena short of adding jemalloc).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace kubecnn::storage {

class RangeArena {
 public:
  static constexpr uint64_t kAlignment = 4096;  // a page: runs never share one

  // Reserves `capacity` bytes of address space (rounded up to kAlignment); pages are faulted in
  // as they are first used and stay until the arena is destroyed. Throws std::bad_alloc if the
  // address space cannot be reserved.
  explicit RangeArena(uint64_t capacity);
  ~RangeArena();
  RangeArena(const RangeArena&) = delete;
  RangeArena& operator=(const RangeArena&) = delete;

  // n bytes (n > 0) from the lowest free run that holds them, or nullptr when none does (the
  // caller falls back to the heap). Thread-safe.
  char* Allocate(uint64_t n);
  // Gives back what Allocate(n) returned, merging it with free neighbours. Thread-safe.
  void Free(char* p, uint64_t n);

  uint64_t capacity() const { return capacity_; }
  uint64_t free_bytes() const;
  uint64_t largest_free_run() const;
  // The highest offset ever handed out: the pages this arena has faulted in at most.
  uint64_t high_water() const;

 private:
  static uint64_t Round(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

  char* base_ = nullptr;
  uint64_t capacity_ = 0;
  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> free_;  // offset -> length; neighbours always merged
  uint64_t free_bytes_ = 0;
  uint64_t high_water_ = 0;
};

}  // namespace kubecnn::storage

// Host memory for batch pixels, from a pluggable allocator: the trainer supplies page-locked
// (pinned) memory on CUDA so host-to-device copies run at full speed; plain heap otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>

namespace kubecnn::data {

// Returns `bytes` of writable memory, freed when the last shared_ptr copy goes.
using HostAllocator = std::function<std::shared_ptr<uint8_t>(size_t bytes)>;

inline std::shared_ptr<uint8_t> HeapAllocate(size_t bytes) {
  return std::shared_ptr<uint8_t>(new uint8_t[bytes], std::default_delete<uint8_t[]>());
}

class HostBuffer {
 public:
  explicit HostBuffer(HostAllocator allocator = HeapAllocate) : allocator_(std::move(allocator)) {}
  // Move-only: a copy would alias the memory of a batch that the loader recycles.
  HostBuffer(HostBuffer&&) = default;
  HostBuffer& operator=(HostBuffer&&) = default;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  // Keeps the memory when it is already large enough, so recycled batches never reallocate.
  void resize(size_t bytes) {
    if (bytes > capacity_) {
      memory_ = allocator_(bytes);
      capacity_ = bytes;
    }
    size_ = bytes;
  }
  uint8_t* data() { return memory_.get(); }
  const uint8_t* data() const { return memory_.get(); }
  size_t size() const { return size_; }
  uint8_t& operator[](size_t i) { return memory_.get()[i]; }
  uint8_t operator[](size_t i) const { return memory_.get()[i]; }
  bool operator==(const HostBuffer& other) const {
    return size_ == other.size_ && (size_ == 0 || std::memcmp(data(), other.data(), size_) == 0);
  }

 private:
  HostAllocator allocator_;
  std::shared_ptr<uint8_t> memory_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace kubecnn::data

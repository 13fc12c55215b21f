// A batch as the loader hands it over: uint8 NHWC images and int64 labels, not yet normalised.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "trainer/data/host_buffer.h"

namespace kubecnn::data {

struct Batch {
  HostBuffer images;            // capacity * image_size * image_size * 3, NHWC (channels_last)
  std::vector<int64_t> labels;  // capacity; the first `size` are valid (label_offset applied)
  int64_t size = 0;             // valid samples: < capacity at the end of an eval pass or after skips
  int image_size = 0;
  int64_t sequence = 0;      // batch number in this loader's stream
  int64_t end_position = 0;  // samples of this rank's stream consumed once this batch is used

  int64_t capacity() const { return static_cast<int64_t>(labels.size()); }
  size_t image_bytes() const { return static_cast<size_t>(image_size) * image_size * 3; }
  uint8_t* image(int64_t i) { return images.data() + static_cast<size_t>(i) * image_bytes(); }
  const uint8_t* image(int64_t i) const { return images.data() + static_cast<size_t>(i) * image_bytes(); }
};

// Batches are shared read-only with the consumer; their buffers go back to the loader's pool when
// the last reference is dropped, so steady-state training allocates nothing.
using BatchPtr = std::shared_ptr<const Batch>;

}  // namespace kubecnn::data

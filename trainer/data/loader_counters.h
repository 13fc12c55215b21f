// What the input pipeline counts for logs and metrics: plain atomics, so the metrics library can
// read them without linking the pipeline.
#pragma once

#include <atomic>
#include <cstdint>

namespace kubecnn::data {

// Read them at any time from any thread.
struct LoaderCounters {
  std::atomic<int64_t> records_read{0};
  std::atomic<int64_t> bytes_read{0};
  std::atomic<int64_t> corrupt_records{0};     // CRC/framing/Example errors skipped (--skip_corrupt_records)
  std::atomic<int64_t> undecodable_images{0};  // not a JPEG, or a corrupt one: always skipped
  std::atomic<int64_t> wait_nanos{0};          // time Next() spent waiting for a batch
  std::atomic<int64_t> ready_batches{0};       // prepared and waiting for Next()
  // Time decode workers spent waiting for remote bytes the read-ahead had not fetched yet (summed
  // over workers; storage-bound time when it approaches the workers' wall time).
  std::atomic<int64_t> storage_wait_nanos{0};
};

}  // namespace kubecnn::data

// Synthetic data (no --data_dir), as nvcnn had: random pixels and labels, for benchmarks.
#pragma once

#include <cstdint>

#include "trainer/data/batch.h"

namespace kubecnn::data {

// A full batch of uniformly random pixels and labels in [0, num_classes).
Batch MakeSyntheticBatch(int64_t batch_size, int image_size, int64_t num_classes, uint64_t seed);

}  // namespace kubecnn::data

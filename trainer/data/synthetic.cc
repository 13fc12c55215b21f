// Synthetic batches from the deterministic Rng.
#include "trainer/data/synthetic.h"

#include <cstring>

#include "trainer/common/random.h"

namespace kubecnn::data {

Batch MakeSyntheticBatch(int64_t batch_size, int image_size, int64_t num_classes, uint64_t seed) {
  Batch batch;
  batch.image_size = image_size;
  batch.size = batch_size;
  batch.labels.resize(static_cast<size_t>(batch_size));
  batch.images.resize(static_cast<size_t>(batch_size) * batch.image_bytes());
  Rng rng(seed);
  for (auto& label : batch.labels) label = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(num_classes)));
  size_t i = 0;
  for (; i + 8 <= batch.images.size(); i += 8) {
    const uint64_t bits = rng.Next();
    std::memcpy(batch.images.data() + i, &bits, 8);
  }
  for (; i < batch.images.size(); ++i) batch.images[i] = static_cast<uint8_t>(rng.Next());
  return batch;
}

}  // namespace kubecnn::data

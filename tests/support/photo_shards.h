// Small real data sets for tests: photos from ../shared/testdata written as ImageNet-style shards.
#pragma once

#include <string>

namespace kubecnn::testing {

// Writes train and validation splits of `records` photos from jpeg-imagenet-samples each, as
// `shards` shards per split. Record i gets label (i % classes) + 1 (1-based, as ImageNet).
// Returns false (write nothing) when the photos are not available.
bool WritePhotoShards(const std::string& dir, int records, int shards, int classes);

}  // namespace kubecnn::testing

// make-shards input (b): Fashion-MNIST's IDX files, each 28x28 grayscale image encoded as a JPEG.
#pragma once

#include <string>

#include "trainer/tools/dataset_source.h"
#include "trainer/tools/idx_images.h"

namespace kubecnn::tools {

// Where Debian's dataset-fashion-mnist package installs the files.
inline constexpr const char* kFashionMnistDebianDir = "/usr/share/datasets/fashion-mnist";

// The ten class names; label = index + 1.
const std::vector<std::string>& FashionMnistClassNames();

// Reads dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]: train -> "train", t10k ->
// "validation". Throws DataError for missing or inconsistent files.
DatasetSource FashionMnistDataset(const std::string& dir, int jpeg_quality);

// The record for image `index` of a loaded split (pure apart from the encoder's scratch state).
// `name` is the split's file stem ("train", "t10k") used in image/filename.
RecordOutcome FashionMnistRecord(const IdxArray& images, const IdxArray& labels, size_t index, const std::string& name,
                                 int jpeg_quality);

}  // namespace kubecnn::tools

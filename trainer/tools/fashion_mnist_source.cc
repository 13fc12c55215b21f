// Fashion-MNIST conversion: IDX loading with consistency checks, grayscale JPEG records.
#include "trainer/tools/fashion_mnist_source.h"

#include <cstdio>
#include <filesystem>
#include <memory>

#include "trainer/data/data_error.h"
#include "trainer/data/image_example.h"
#include "trainer/tools/jpeg_encode.h"

namespace kubecnn::tools {
namespace {

namespace fs = std::filesystem;

// The gzip'd name as distributed, else the same name unpacked.
std::string FindIdxFile(const std::string& dir, const std::string& stem) {
  const fs::path gz = fs::path(dir) / (stem + ".gz");
  const fs::path plain = fs::path(dir) / stem;
  if (fs::exists(gz)) return gz.string();
  if (fs::exists(plain)) return plain.string();
  throw data::DataError("--fashion_mnist " + dir + ": neither " + gz.filename().string() + " nor " +
                        plain.filename().string() +
                        " is there (install Debian's dataset-fashion-mnist, which puts them in " +
                        kFashionMnistDebianDir + ", or download them from zalandoresearch/fashion-mnist)");
}

SplitSource LoadSplit(const std::string& dir, const std::string& stem, const std::string& split_name,
                      int jpeg_quality) {
  const std::string images_path = FindIdxFile(dir, stem + "-images-idx3-ubyte");
  const std::string labels_path = FindIdxFile(dir, stem + "-labels-idx1-ubyte");
  auto images = std::make_shared<const IdxArray>(ReadIdxFile(images_path));
  auto labels = std::make_shared<const IdxArray>(ReadIdxFile(labels_path));
  if (images->dims.size() != 3 || labels->dims.size() != 1) {
    throw data::DataError(images_path + " and " + labels_path + " have " + std::to_string(images->dims.size()) +
                          " and " + std::to_string(labels->dims.size()) +
                          " dimensions (expected 3 for images and 1 for labels; are the two files swapped?)");
  }
  if (images->count() != labels->count()) {
    throw data::DataError(images_path + " holds " + std::to_string(images->count()) + " images but " + labels_path +
                          " holds " + std::to_string(labels->count()) + " labels (the files come from different sets)");
  }
  const auto& names = FashionMnistClassNames();
  for (size_t i = 0; i < labels->data.size(); ++i) {
    if (labels->data[i] >= names.size()) {
      throw data::DataError(labels_path + ": label " + std::to_string(labels->data[i]) + " of image " +
                            std::to_string(i) + " is out of range 0..9 (is this Fashion-MNIST?)");
    }
  }
  SplitSource split;
  split.name = split_name;
  split.count = images->count();
  split.make = [images, labels, stem, jpeg_quality](size_t item) {
    return FashionMnistRecord(*images, *labels, item, stem, jpeg_quality);
  };
  return split;
}

}  // namespace

const std::vector<std::string>& FashionMnistClassNames() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

RecordOutcome FashionMnistRecord(const IdxArray& images, const IdxArray& labels, size_t index, const std::string& name,
                                 int jpeg_quality) {
  thread_local JpegEncoder encoder;  // TurboJPEG handles are per thread; building one per image is wasteful
  const int rows = static_cast<int>(images.dims[1]);
  const int cols = static_cast<int>(images.dims[2]);
  const std::string jpeg = encoder.Encode(images.data.data() + index * images.item_size(), cols, rows, 1, jpeg_quality);
  const uint8_t label = labels.data[index];
  char file_name[64];
  std::snprintf(file_name, sizeof file_name, "%s-%05zu.jpg", name.c_str(), index);
  data::ImageExampleFields fields;
  fields.encoded = jpeg;
  fields.label = label + 1;  // 1-based like ImageNet's records, so the loader's label offset is the same
  fields.height = rows;
  fields.width = cols;
  fields.channels = 1;
  fields.colorspace = "Grayscale";
  fields.format = "JPEG";
  fields.class_text = FashionMnistClassNames()[label];
  fields.filename = file_name;
  return {data::SerializeImageExample(fields), ""};
}

DatasetSource FashionMnistDataset(const std::string& dir, int jpeg_quality) {
  DatasetSource source;
  const auto& names = FashionMnistClassNames();
  for (size_t i = 0; i < names.size(); ++i) source.classes.push_back({static_cast<int64_t>(i + 1), "", names[i]});
  source.default_train_shards = 16;  // 60000 images, ~3750 (~3 MB) per shard
  source.default_validation_shards = 4;
  source.splits.push_back(LoadSplit(dir, "train", "train", jpeg_quality));
  source.splits.push_back(LoadSplit(dir, "t10k", "validation", jpeg_quality));
  return source;
}

}  // namespace kubecnn::tools

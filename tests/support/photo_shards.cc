// WritePhotoShards: real JPEG bytes, our TFRecord writer, the full ImageNet Example schema.
#include "tests/support/photo_shards.h"

#include "tests/support/test_files.h"
#include "trainer/data/dataset_files.h"
#include "trainer/data/image_example.h"
#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::testing {

bool WritePhotoShards(const std::string& dir, int records, int shards, int classes) {
  const std::string photos_dir = TestdataPath("jpeg-imagenet-samples");
  if (!Exists(photos_dir)) return false;
  const auto photos = ListFiles(photos_dir, ".JPEG");
  if (photos.size() < static_cast<size_t>(records)) return false;
  for (const char* split : {"train", "validation"}) {
    int next = 0;
    for (int s = 0; s < shards; ++s) {
      data::TfRecordWriter writer(dir + "/" + data::ShardFileName(split, s, shards));
      const int end = records * (s + 1) / shards;
      for (; next < end; ++next) {
        const std::string jpeg = ReadFile(photos[next]);
        data::ImageExampleFields fields;
        fields.encoded = jpeg;
        fields.label = next % classes + 1;
        writer.Write(data::SerializeImageExample(fields));
      }
      writer.Close();
    }
  }
  return true;
}

}  // namespace kubecnn::testing

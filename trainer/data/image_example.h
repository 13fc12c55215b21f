// The ImageNet schema of tf.train.Example (as inception's build_imagenet_data writes it):
// parsing records into images + labels + boxes, and building such records.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/data/bounding_box.h"

namespace kubecnn::data {

// Which features hold the image and the label. Defaults are the ImageNet ones; TF-slim and
// object-detection sets differ only in what they put under the label key.
struct ExampleSchema {
  std::string image_key = "image/encoded";
  std::string label_key = "image/class/label";
};

struct ImageExample {
  std::string encoded;             // image/encoded: the JPEG bytes
  int64_t label = 0;               // first value of the label feature, as stored (1-based for ImageNet)
  int64_t height = 0;              // image/height, 0 when absent
  int64_t width = 0;               // image/width, 0 when absent
  std::vector<BoundingBox> boxes;  // image/object/bbox/{xmin,ymin,xmax,ymax}, clipped to [0, 1]
  std::string class_text;          // image/class/text, empty when absent
  std::string filename;            // image/filename, empty when absent
};

// Where a record came from, for error messages.
struct RecordLocation {
  std::string_view file;
  int64_t index = -1;  // record number within the file
};

// Parses a serialized tf.train.Example. Throws DataError naming the key, file and record index
// when the bytes are not an Example, a required feature (image, label) is missing or has the
// wrong type, or the bbox lists disagree in length. Unknown keys are ignored.
ImageExample ParseImageExample(std::string_view serialized, const RecordLocation& where,
                               const ExampleSchema& schema = {});

// Fields for writing a record with the full ImageNet schema.
struct ImageExampleFields {
  std::string_view encoded;
  int64_t label = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 3;
  std::string_view colorspace = "RGB";
  std::string_view format = "JPEG";
  std::string_view class_text;
  std::string_view synset;
  std::string_view filename;
  std::vector<BoundingBox> boxes;
};

std::string SerializeImageExample(const ImageExampleFields& fields);

// One feature of an Example rendered for humans (inspect): "image/class/label: int64[1] = 412".
std::vector<std::string> DescribeExample(std::string_view serialized, size_t max_values = 4);

}  // namespace kubecnn::data

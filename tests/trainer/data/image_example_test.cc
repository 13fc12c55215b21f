// tf.train.Example parsing against the real files in ../shared/testdata, and error messages.
#include "trainer/data/image_example.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <map>

#include "tests/support/test_files.h"
#include "trainer/data/data_error.h"
#include "trainer/data/tfrecord_reader.h"

namespace kubecnn::data {
namespace {

using kubecnn::testing::TestdataPath;

std::vector<ImageExample> ParseFile(const std::string& path, const ExampleSchema& schema = {}) {
  TfRecordReader reader(path);
  std::vector<ImageExample> out;
  std::string record;
  for (int64_t i = 0; reader.Next(&record); ++i) out.push_back(ParseImageExample(record, {path, i}, schema));
  return out;
}

void JpegSize(const std::string& jpeg, int* width, int* height) {
  tjhandle handle = tjInitDecompress();
  int subsamp = 0, colorspace = 0;
  ASSERT_EQ(tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(), width, height,
                                &subsamp, &colorspace),
            0);
  tjDestroy(handle);
}

TEST(ImageExample, ReadsInceptionBuildImageDataRecords) {
  const std::string path = TestdataPath("tfrecord-inception-build-image-data/validation-00000-of-00002");
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(path), path << " is missing");
  const auto examples = ParseFile(path);
  ASSERT_EQ(examples.size(), 25u);
  for (const auto& e : examples) {
    EXPECT_GE(e.label, 1);  // build_image_data writes 1-based labels
    EXPECT_LE(e.label, 10);
    EXPECT_FALSE(e.class_text.empty());
    EXPECT_FALSE(e.filename.empty());
    int w = 0, h = 0;
    JpegSize(e.encoded, &w, &h);
    EXPECT_EQ(w, e.width);
    EXPECT_EQ(h, e.height);
    EXPECT_TRUE(e.boxes.empty());
  }
}

TEST(ImageExample, FlowersLabelsMatchTheDocumentedDistribution) {
  const std::string path = TestdataPath("tfrecord-flowers/flowers_validation_00000-of-00005.tfrecord");
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(path), path << " is missing");
  std::map<int64_t, int> histogram;
  for (const auto& e : ParseFile(path)) ++histogram[e.label];
  EXPECT_EQ(histogram, (std::map<int64_t, int>{{0, 10}, {1, 23}, {2, 14}, {3, 10}, {4, 13}}));
}

TEST(ImageExample, ReadsObjectDetectionBoxes) {
  const std::string path = TestdataPath("tfrecord-raccoon-detection/test.record");
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(path), path << " is missing");
  ExampleSchema schema;
  schema.label_key = "image/object/class/label";  // this set has no image/class/label
  size_t boxes = 0;
  for (const auto& e : ParseFile(path, schema)) {
    boxes += e.boxes.size();
    for (const auto& b : e.boxes) {
      EXPECT_LT(b.xmin, b.xmax);
      EXPECT_LT(b.ymin, b.ymax);
      EXPECT_GE(b.xmin, 0.0f);
      EXPECT_LE(b.ymax, 1.0f);
    }
  }
  EXPECT_EQ(boxes, 44u);
}

TEST(ImageExample, MissingLabelNamesKeyFileAndRecord) {
  const std::string path = TestdataPath("tfrecord-raccoon-detection/test.record");
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(path), path << " is missing");
  try {
    ParseFile(path);
    FAIL();
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("missing feature 'image/class/label'"), std::string::npos) << m;
    EXPECT_NE(m.find("record 0 of " + path), std::string::npos) << m;
    EXPECT_NE(m.find("--label_key"), std::string::npos) << m;
  }
}

TEST(ImageExample, MistypedFeatureSaysWhatItIsAndWhatWasExpected) {
  const std::string path = TestdataPath("tfrecord-tfx-cifar10/cifar10_train.tfrecord");
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(path), path << " is missing");
  ExampleSchema schema;
  schema.image_key = "image";
  schema.label_key = "id";  // bytes, not int64
  try {
    ParseFile(path, schema);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("feature 'id' is bytes_list, expected int64_list"), std::string::npos)
        << e.what();
  }
  schema.label_key = "label";
  EXPECT_EQ(ParseFile(path, schema).size(), 128u);  // TFDS keys work when named
}

TEST(ImageExample, SerializeThenParseRoundTrips) {
  ImageExampleFields fields;
  fields.encoded = "\xff\xd8 jpeg bytes";
  fields.label = 412;
  fields.height = 375;
  fields.width = 500;
  fields.class_text = "ashcan";
  fields.filename = "n02747177_10752.JPEG";
  fields.boxes = {{0.1f, 0.2f, 0.5f, 0.9f}, {0.0f, 0.0f, 1.0f, 1.0f}};
  const ImageExample e = ParseImageExample(SerializeImageExample(fields), {"mem", 0});
  EXPECT_EQ(e.encoded, fields.encoded);
  EXPECT_EQ(e.label, 412);
  EXPECT_EQ(e.height, 375);
  EXPECT_EQ(e.width, 500);
  EXPECT_EQ(e.class_text, "ashcan");
  EXPECT_EQ(e.filename, fields.filename);
  ASSERT_EQ(e.boxes.size(), 2u);
  EXPECT_FLOAT_EQ(e.boxes[0].xmin, 0.1f);
  EXPECT_FLOAT_EQ(e.boxes[0].ymax, 0.9f);
}

TEST(ImageExample, GarbageBytesAreAClearError) {
  EXPECT_THROW(ParseImageExample(std::string("\x0a\xff\xff\xff\xff\x0f", 6), {"mem", 3}), DataError);
}

TEST(ImageExample, DescribeListsFeaturesSorted) {
  ImageExampleFields fields;
  fields.encoded = std::string(100, '\0');
  fields.label = 7;
  const auto lines = DescribeExample(SerializeImageExample(fields));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "image/channels: int64[1] = 3");
  bool saw_label = false, saw_bytes = false;
  for (const auto& l : lines) {
    saw_label |= l == "image/class/label: int64[1] = 7";
    saw_bytes |= l == "image/encoded: bytes[1] = <100 bytes>";
  }
  EXPECT_TRUE(saw_label);
  EXPECT_TRUE(saw_bytes);
}

}  // namespace
}  // namespace kubecnn::data

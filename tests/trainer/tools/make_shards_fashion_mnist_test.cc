// make-shards on Debian's Fashion-MNIST files: labels, names, and JPEGs that decode to the IDX pixels.
#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>

#include "tests/support/test_files.h"
#include "tests/trainer/tools/shard_reading.h"
#include "trainer/tools/fashion_mnist_source.h"
#include "trainer/tools/make_shards.h"

namespace kubecnn::tools {
namespace {

using testing::BytesFeature;
using testing::IntFeature;

// The whole decompressed file, read with zlib directly (independently of the IDX reader).
std::string Gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::string out;
  char buf[1 << 16];
  int n = 0;
  while (f && (n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  if (f) gzclose(f);
  return out;
}

class MakeShardsFashionMnistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_IF(!kubecnn::testing::Exists(kFashionMnistDebianDir), kFashionMnistDebianDir << " absent");
  }
  kubecnn::testing::ScratchDir scratch_;
};

TEST_F(MakeShardsFashionMnistTest, RecordsDecodeTo28x28GrayscaleCloseToTheIdxPixels) {
  MakeShardsOptions o;
  o.fashion_mnist = kFashionMnistDebianDir;
  o.output_dir = scratch_ / "out";
  o.max_images_per_split = 40;
  o.train_shards = 2;
  o.num_threads = 2;
  ASSERT_EQ(MakeShards(o), 0);

  const std::string dir = kFashionMnistDebianDir;
  struct Split {
    const char* name;
    const char* stem;
  };
  for (const Split split : {Split{"train", "train"}, Split{"validation", "t10k"}}) {
    const std::string images = Gunzip(dir + "/" + split.stem + "-images-idx3-ubyte.gz");
    const std::string labels = Gunzip(dir + "/" + split.stem + "-labels-idx1-ubyte.gz");
    const auto records = testing::ReadSplit(o.output_dir, split.name);
    ASSERT_EQ(records.size(), 40u) << split.name;
    double total_error = 0;
    for (const auto& r : records) {
      const std::string file_name = BytesFeature(r.example, "image/filename");  // "<stem>-00042.jpg"
      ASSERT_EQ(file_name.rfind(std::string(split.stem) + "-", 0), 0u) << file_name;
      const size_t index = std::strtoul(file_name.c_str() + std::strlen(split.stem) + 1, nullptr, 10);
      const int idx_label = static_cast<unsigned char>(labels[8 + index]);
      EXPECT_EQ(IntFeature(r.example, "image/class/label"), idx_label + 1) << file_name;
      EXPECT_EQ(BytesFeature(r.example, "image/class/text"), FashionMnistClassNames()[idx_label]);
      EXPECT_EQ(BytesFeature(r.example, "image/colorspace"), "Grayscale");
      EXPECT_EQ(IntFeature(r.example, "image/channels"), 1);

      const std::string jpeg = BytesFeature(r.example, "image/encoded");
      tjhandle tj = tjInitDecompress();
      int width = 0, height = 0, subsampling = 0, colorspace = 0;
      ASSERT_EQ(tjDecompressHeader3(tj, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(), &width,
                                    &height, &subsampling, &colorspace),
                0);
      ASSERT_EQ(width, 28);
      ASSERT_EQ(height, 28);
      EXPECT_EQ(colorspace, TJCS_GRAY);
      unsigned char pixels[28 * 28];
      ASSERT_EQ(tjDecompress2(tj, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(), pixels, 28, 0, 28,
                              TJPF_GRAY, 0),
                0);
      tjDestroy(tj);
      const auto* expected = reinterpret_cast<const unsigned char*>(images.data()) + 16 + index * 28 * 28;
      int max_error = 0;
      double sum_error = 0;
      for (int i = 0; i < 28 * 28; ++i) {
        const int e = std::abs(int{pixels[i]} - int{expected[i]});
        max_error = std::max(max_error, e);
        sum_error += e;
      }
      EXPECT_LT(sum_error / (28 * 28), 3.0) << file_name << ": mean absolute error too large for quality 95";
      EXPECT_LT(max_error, 64) << file_name;
      total_error += sum_error / (28 * 28);
    }
    RecordProperty(std::string(split.name) + "_mean_abs_error", std::to_string(total_error / 40));
  }
  EXPECT_EQ(
      kubecnn::testing::ReadFile(o.output_dir + "/labels.txt"),
      "1\tT-shirt/top\n2\tTrouser\n3\tPullover\n4\tDress\n5\tCoat\n6\tSandal\n7\tShirt\n8\tSneaker\n9\tBag\n10\tAnkle "
      "boot\n");
}

}  // namespace
}  // namespace kubecnn::tools

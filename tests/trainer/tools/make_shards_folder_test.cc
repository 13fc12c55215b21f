// make-shards on an image folder built from real ImageNet JPEGs: what is written, that it is
// deterministic, and that earlier output is protected.
#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <filesystem>
#include <map>
#include <set>

#include "tests/support/test_files.h"
#include "tests/trainer/tools/shard_reading.h"
#include "trainer/common/flags.h"
#include "trainer/data/data_error.h"
#include "trainer/data/dataset_files.h"
#include "trainer/data/record_index.h"
#include "trainer/tools/make_shards.h"

namespace kubecnn::tools {
namespace {

namespace fs = std::filesystem;
using kubecnn::testing::ReadFile;
using kubecnn::testing::ScratchDir;
using kubecnn::testing::WriteFile;
using testing::BytesFeature;
using testing::IntFeature;

struct SourceImage {
  std::string bytes;
  int64_t label = 0;  // expected 1-based label
  std::string synset;
};

// Three classes, created out of order so that the listing has to sort them.
constexpr const char* kSynsets[] = {"n03000000", "n01000000", "n02000000"};
constexpr int kImagesPerClass[] = {4, 3, 5};

class MakeShardsFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string samples = kubecnn::testing::TestdataPath("jpeg-imagenet-samples");
    KUBECNN_SKIP_IF(!kubecnn::testing::Exists(samples), samples << " absent");
    const std::vector<std::string> jpegs = kubecnn::testing::ListFiles(samples, ".JPEG");
    ASSERT_GE(jpegs.size(), 12u);
    size_t next = 0;
    for (int c = 0; c < 3; ++c) {
      const fs::path class_dir = fs::path(input_dir()) / kSynsets[c];
      fs::create_directories(class_dir);
      // Sorted position of the synset: n01 -> 1, n02 -> 2, n03 -> 3.
      const int64_t label = kSynsets[c][2] - '0';
      for (int i = 0; i < kImagesPerClass[c]; ++i) {
        // Spread over the samples (every 20th) so large, small and grayscale images all occur.
        const std::string& source = jpegs[(next++ * 20) % jpegs.size()];
        const std::string name = fs::path(source).filename().string();
        fs::copy_file(source, class_dir / name);
        images_[name] = {ReadFile(source), label, kSynsets[c]};
      }
    }
    WriteFile(input_dir() + "/n02000000/.DS_Store", "hidden files are not images");
  }

  std::string input_dir() const { return scratch_ / "in"; }

  MakeShardsOptions Options(const std::string& output_name) const {
    MakeShardsOptions o;
    o.input_dir = input_dir();
    o.output_dir = scratch_ / output_name;
    o.train_shards = 4;
    o.num_threads = 2;
    return o;
  }

  ScratchDir scratch_;
  std::map<std::string, SourceImage> images_;  // by file name
};

TEST_F(MakeShardsFolderTest, EveryImageIsWrittenOnceWithItsBytesUnchangedAndA1BasedSortedLabel) {
  const MakeShardsOptions o = Options("out");
  ASSERT_EQ(MakeShards(o), 0);

  const auto records = testing::ReadSplit(o.output_dir, "train");
  ASSERT_EQ(records.size(), images_.size());
  std::set<std::string> seen;
  for (const auto& r : records) {
    const std::string name = BytesFeature(r.example, "image/filename");
    ASSERT_TRUE(images_.count(name)) << name;
    EXPECT_TRUE(seen.insert(name).second) << name << " written twice";
    const SourceImage& src = images_[name];
    EXPECT_TRUE(BytesFeature(r.example, "image/encoded") == src.bytes) << name << ": JPEG bytes changed";
    EXPECT_EQ(IntFeature(r.example, "image/class/label"), src.label) << name;
    EXPECT_EQ(BytesFeature(r.example, "image/class/synset"), src.synset);
    EXPECT_EQ(BytesFeature(r.example, "image/class/text"), src.synset);  // no --class_names
    EXPECT_EQ(BytesFeature(r.example, "image/format"), "JPEG");

    // Size and colour space as an independent TurboJPEG header read reports them.
    tjhandle tj = tjInitDecompress();
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    ASSERT_EQ(tjDecompressHeader3(tj, reinterpret_cast<const unsigned char*>(src.bytes.data()), src.bytes.size(),
                                  &width, &height, &subsampling, &colorspace),
              0);
    tjDestroy(tj);
    EXPECT_EQ(IntFeature(r.example, "image/width"), width) << name;
    EXPECT_EQ(IntFeature(r.example, "image/height"), height) << name;
    const bool gray = colorspace == TJCS_GRAY;
    EXPECT_EQ(IntFeature(r.example, "image/channels"), gray ? 1 : 3) << name;
    EXPECT_EQ(BytesFeature(r.example, "image/colorspace"), gray ? "Grayscale" : "RGB") << name;
  }
}

TEST_F(MakeShardsFolderTest, ShuffleMixesClassesAcrossShards) {
  const MakeShardsOptions o = Options("out");
  ASSERT_EQ(MakeShards(o), 0);
  const auto records = testing::ReadSplit(o.output_dir, "train");
  std::vector<int64_t> labels;
  std::map<std::string, std::set<int64_t>> labels_per_shard;
  for (const auto& r : records) {
    labels.push_back(IntFeature(r.example, "image/class/label"));
    labels_per_shard[r.shard].insert(labels.back());
  }
  EXPECT_FALSE(std::is_sorted(labels.begin(), labels.end())) << "records are still in class order";
  EXPECT_EQ(labels_per_shard.size(), 4u);
  size_t mixed = 0;
  for (const auto& [shard, set] : labels_per_shard) mixed += set.size() > 1;
  EXPECT_GT(mixed, 0u) << "no shard holds more than one class";
}

TEST_F(MakeShardsFolderTest, IdxFilesMatchAHeaderScanOfEachShard) {
  const MakeShardsOptions o = Options("out");
  ASSERT_EQ(MakeShards(o), 0);
  for (const std::string& shard : data::FindShards(o.output_dir, "train")) {
    std::string why;
    const auto from_idx = data::LoadIdxFile(data::IdxPathFor(shard), shard, fs::file_size(shard), &why);
    ASSERT_TRUE(from_idx.has_value()) << shard << ": " << why;
    EXPECT_EQ(from_idx->offsets, data::ScanShard(shard, false).offsets) << shard;
  }
}

TEST_F(MakeShardsFolderTest, LabelsFileListsClassesInLabelOrderWithNamesFromClassNamesFile) {
  MakeShardsOptions o = Options("out");
  o.class_names = scratch_ / "synsets.txt";
  WriteFile(o.class_names, "# comment\nn01000000\ttench, Tinca tinca\nn03000000 great white shark\n\n");
  ASSERT_EQ(MakeShards(o), 0);
  EXPECT_EQ(ReadFile(o.output_dir + "/labels.txt"),
            "1\tn01000000\ttench, Tinca tinca\n"
            "2\tn02000000\tn02000000\n"  // not in the file: the folder name
            "3\tn03000000\tgreat white shark\n");
  for (const auto& r : testing::ReadSplit(o.output_dir, "train")) {
    if (IntFeature(r.example, "image/class/label") == 3) {
      EXPECT_EQ(BytesFeature(r.example, "image/class/text"), "great white shark");
    }
  }
}

TEST_F(MakeShardsFolderTest, OutputIsByteIdenticalWhateverTheThreadCount) {
  MakeShardsOptions one = Options("one-thread");
  one.num_threads = 1;
  MakeShardsOptions three = Options("three-threads");
  three.num_threads = 3;
  ASSERT_EQ(MakeShards(one), 0);
  ASSERT_EQ(MakeShards(three), 0);
  const auto a = testing::DirectoryContents(one.output_dir);
  const auto b = testing::DirectoryContents(three.output_dir);
  EXPECT_EQ(a.size(), 4u * 2 + 1);  // shards, their .idx files, labels.txt
  EXPECT_TRUE(a == b) << "outputs differ between 1 and 3 threads";
}

TEST_F(MakeShardsFolderTest, AnotherSeedGivesAnotherOrder) {
  MakeShardsOptions a = Options("seed-a");
  MakeShardsOptions b = Options("seed-b");
  b.seed = a.seed + 1;
  ASSERT_EQ(MakeShards(a), 0);
  ASSERT_EQ(MakeShards(b), 0);
  EXPECT_FALSE(testing::DirectoryContents(a.output_dir) == testing::DirectoryContents(b.output_dir));
}

TEST_F(MakeShardsFolderTest, RefusesToOverwriteAnEarlierConversionUnlessAsked) {
  MakeShardsOptions o = Options("out");
  ASSERT_EQ(MakeShards(o), 0);
  const auto before = testing::DirectoryContents(o.output_dir);
  o.train_shards = 2;
  try {
    MakeShards(o);
    FAIL() << "expected DataError";
  } catch (const data::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("--overwrite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("train-00000-of-00004"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(testing::DirectoryContents(o.output_dir) == before) << "a refused run changed the output";

  // With --overwrite the 4-shard set is replaced by a 2-shard one, with no stale shard left over.
  o.overwrite = true;
  ASSERT_EQ(MakeShards(o), 0);
  EXPECT_EQ(data::FindShards(o.output_dir, "train").size(), 2u);
  EXPECT_EQ(testing::DirectoryContents(o.output_dir).size(), 2u * 2 + 1);
}

TEST_F(MakeShardsFolderTest, NonJpegFilesAreSkippedAndTheRestWritten) {
  WriteFile(input_dir() + "/n01000000/fake.JPEG", "\x89PNG\r\n\x1a\n not really");
  WriteFile(input_dir() + "/n03000000/empty.JPEG", "");
  const MakeShardsOptions o = Options("out");
  ASSERT_EQ(MakeShards(o), 0);
  const auto records = testing::ReadSplit(o.output_dir, "train");
  EXPECT_EQ(records.size(), images_.size());
  for (const auto& r : records) EXPECT_TRUE(images_.count(BytesFeature(r.example, "image/filename")));
}

TEST_F(MakeShardsFolderTest, ValidationFolderUsesTheTrainingLabels) {
  const std::string val = scratch_ / "val";
  fs::create_directories(val + "/n02000000");  // only the second class
  const auto& [name, image] =
      *std::find_if(images_.begin(), images_.end(), [](const auto& kv) { return kv.second.synset == "n02000000"; });
  WriteFile(val + "/n02000000/" + name, image.bytes);
  MakeShardsOptions o = Options("out");
  o.validation_dir = val;
  ASSERT_EQ(MakeShards(o), 0);  // the default 128 validation shards shrink to one per image
  const auto records = testing::ReadSplit(o.output_dir, "validation");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].shard, "validation-00000-of-00001");
  EXPECT_EQ(IntFeature(records[0].example, "image/class/label"), 2);
}

TEST_F(MakeShardsFolderTest, ValidationFolderWithAnUnknownClassIsRejected) {
  const std::string val = scratch_ / "val";
  fs::create_directories(val + "/n09999999");
  WriteFile(val + "/n09999999/x.JPEG", images_.begin()->second.bytes);
  MakeShardsOptions o = Options("out");
  o.validation_dir = val;
  try {
    MakeShards(o);
    FAIL() << "expected DataError";
  } catch (const data::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("n09999999"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.output_dir)) << "output written despite the error";
}

TEST_F(MakeShardsFolderTest, MoreShardsThanImagesIsAUsageError) {
  MakeShardsOptions o = Options("out");
  o.train_shards = 13;
  EXPECT_THROW(MakeShards(o), UsageError);
}

TEST_F(MakeShardsFolderTest, OutputInsideTheInputFolderIsAUsageError) {
  MakeShardsOptions o = Options("unused");
  o.output_dir = input_dir() + "/shards";
  EXPECT_THROW(MakeShards(o), UsageError);
  EXPECT_FALSE(fs::exists(o.output_dir));
}

TEST_F(MakeShardsFolderTest, CommandLineRunsTheSameConversion) {
  const std::string out = scratch_ / "cli";
  EXPECT_EQ(RunMakeShards({"--input_dir=" + input_dir(), "--output_dir", out, "--train_shards=3", "--num_threads=2"}),
            0);
  EXPECT_EQ(data::FindShards(out, "train").size(), 3u);
  EXPECT_EQ(testing::ReadSplit(out, "train").size(), images_.size());
}

}  // namespace
}  // namespace kubecnn::tools

// The loader end to end on shards of real JPEGs: exactly-once evaluation across ranks,
// determinism whatever the thread count, resume, bounded memory, corrupt data handling.
#include "trainer/data/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <numeric>
#include <thread>

#include "tests/support/test_files.h"
#include "trainer/data/data_error.h"
#include "trainer/data/dataset_files.h"
#include "trainer/data/image_example.h"
#include "trainer/data/record_index.h"
#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::data {
namespace {

using kubecnn::testing::ScratchDir;

constexpr int kRecords = 20;

// Writes `kRecords` real photos as train and validation shards of sizes 7, 7, 6. Record i has
// label i + 1 (1-based, as ImageNet), so a loaded label (offset 1) names its record.
// `replace` swaps record `replace_index`'s image bytes (to plant a bad image).
void WriteShards(const std::string& dir, int replace_index = -1, const std::string& replacement = "") {
  const auto photos = kubecnn::testing::ListFiles(kubecnn::testing::TestdataPath("jpeg-imagenet-samples"), ".JPEG");
  ASSERT_GE(photos.size(), static_cast<size_t>(kRecords));
  const int sizes[3] = {7, 7, 6};
  for (const char* split : {"train", "validation"}) {
    int next = 0;
    for (int s = 0; s < 3; ++s) {
      TfRecordWriter writer(dir + "/" + ShardFileName(split, s, 3));
      for (int i = 0; i < sizes[s]; ++i, ++next) {
        const std::string jpeg = next == replace_index ? replacement : kubecnn::testing::ReadFile(photos[next]);
        ImageExampleFields fields;
        fields.encoded = jpeg;
        fields.label = next + 1;
        writer.Write(SerializeImageExample(fields));
      }
      writer.Close();
    }
  }
}

LoaderOptions SmallOptions(const std::string& dir, bool train) {
  LoaderOptions o;
  o.data_dir = dir;
  o.train = train;
  o.split = train ? "train" : "validation";
  o.batch_size = 3;
  o.transform.output_size = 32;
  o.num_threads = 2;
  o.prefetch_batches = 2;
  o.shuffle_buffer = 5;
  o.seed = 11;
  o.num_classes = kRecords;
  return o;
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_IF(!kubecnn::testing::Exists(kubecnn::testing::TestdataPath("jpeg-imagenet-samples")),
                    kubecnn::testing::TestdataPath("jpeg-imagenet-samples") << " is missing");
    WriteShards(dir_.path());
  }
  ScratchDir dir_;
};

std::vector<int64_t> Labels(const Batch& b) { return {b.labels.begin(), b.labels.begin() + b.size}; }

TEST_F(LoaderTest, EvalPassOverTwoRanksSeesEveryRecordExactlyOnceTailIncluded) {
  std::map<int64_t, int> seen;
  for (int rank = 0; rank < 2; ++rank) {
    LoaderOptions o = SmallOptions(dir_.path(), false);
    o.rank = rank;
    o.world = 2;
    Loader loader(o);
    EXPECT_EQ(loader.total_records(), kRecords);
    EXPECT_EQ(loader.records_per_epoch(), kRecords / 2);
    int batches = 0;
    while (BatchPtr b = loader.Next()) {
      ++batches;
      EXPECT_EQ(b->size, batches < 4 ? 3 : 1);  // 10 records: 3 + 3 + 3 + 1
      for (int64_t label : Labels(*b)) ++seen[label];
    }
    EXPECT_EQ(batches, 4);
    EXPECT_EQ(loader.Next(), nullptr);  // stays finished
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(kRecords));
  for (const auto& [label, count] : seen) EXPECT_EQ(count, 1) << label;
}

TEST_F(LoaderTest, TrainStreamIsIdenticalWhateverTheThreadCount) {
  std::vector<std::vector<uint8_t>> images[2];
  std::vector<std::vector<int64_t>> labels[2];
  for (int variant = 0; variant < 2; ++variant) {
    LoaderOptions o = SmallOptions(dir_.path(), true);
    o.num_threads = variant == 0 ? 1 : 3;
    o.prefetch_batches = variant == 0 ? 1 : 4;
    Loader loader(o);
    for (int i = 0; i < 8; ++i) {
      BatchPtr b = loader.Next();
      ASSERT_NE(b, nullptr);
      images[variant].emplace_back(b->images.data(), b->images.data() + b->images.size());
      labels[variant].push_back(Labels(*b));
    }
  }
  EXPECT_EQ(labels[0], labels[1]);
  EXPECT_TRUE(images[0] == images[1]) << "pixels differ between 1 and 3 threads";
}

TEST_F(LoaderTest, TrainStreamVisitsEachRecordOncePerEpochAndReshuffles) {
  LoaderOptions o = SmallOptions(dir_.path(), true);
  o.batch_size = 4;
  Loader loader(o);
  std::vector<int64_t> epoch_orders[2];
  for (int i = 0; i < 10; ++i) {  // 40 samples = 2 epochs of 20
    BatchPtr b = loader.Next();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->end_position, 4 * (i + 1));
    for (int64_t label : Labels(*b)) epoch_orders[i / 5].push_back(label);
  }
  for (auto& order : epoch_orders) {
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> all(kRecords);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(sorted, all);
  }
  EXPECT_NE(epoch_orders[0], epoch_orders[1]);
}

TEST_F(LoaderTest, ResumingAtAPositionContinuesTheSameStream) {
  LoaderOptions o = SmallOptions(dir_.path(), true);
  std::vector<BatchPtr> reference;
  {
    Loader loader(o);
    for (int i = 0; i < 9; ++i) reference.push_back(loader.Next());
  }
  o.start_position = reference[4]->end_position;
  Loader resumed(o);
  for (int i = 5; i < 9; ++i) {
    BatchPtr b = resumed.Next();
    EXPECT_EQ(Labels(*b), Labels(*reference[i])) << i;
    EXPECT_TRUE(b->images == reference[i]->images) << i;
  }
}

TEST_F(LoaderTest, MemoryStaysBoundedWhenTheConsumerIsSlow) {
  LoaderOptions o = SmallOptions(dir_.path(), true);
  o.prefetch_batches = 2;
  o.num_threads = 3;
  Loader loader(o);
  // Once prefetch_batches are ready the loader is saturated: nothing is being filled, so every
  // record it read sits in a ready batch. A loader that read ahead of its bound would show more.
  const auto wait_until_saturated = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (loader.ready_batches() < o.prefetch_batches && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return loader.ready_batches() == o.prefetch_batches;
  };
  ASSERT_TRUE(wait_until_saturated());
  EXPECT_EQ(loader.counters().records_read.load(), o.prefetch_batches * o.batch_size);
  ASSERT_NE(loader.Next(), nullptr);
  ASSERT_TRUE(wait_until_saturated());  // it refills exactly the batch taken
  EXPECT_EQ(loader.counters().records_read.load(), (o.prefetch_batches + 1) * o.batch_size);
}

TEST_F(LoaderTest, CorruptRecordStopsTheRunUnlessSkipping) {
  // Flip one payload byte in the middle shard.
  const std::string shard = dir_ / ShardFileName("validation", 1, 3);
  std::string bytes = kubecnn::testing::ReadFile(shard);
  bytes[100] ^= 0x20;
  kubecnn::testing::WriteFile(shard, bytes);
  {
    Loader loader(SmallOptions(dir_.path(), false));
    try {
      while (loader.Next()) {
      }
      FAIL() << "corruption not reported";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(shard), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("data CRC mismatch"), std::string::npos) << e.what();
    }
  }
  LoaderOptions o = SmallOptions(dir_.path(), false);
  o.skip_corrupt_records = true;
  Loader loader(o);
  int64_t images = 0;
  while (BatchPtr b = loader.Next()) images += b->size;
  EXPECT_EQ(images, kRecords - 1);
  EXPECT_EQ(loader.counters().corrupt_records.load(), 1);
}

TEST(Loader, UndecodableImagesAreSkippedAndCountedNeverFatal) {
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(kubecnn::testing::TestdataPath("jpeg-imagenet-samples")),
                  kubecnn::testing::TestdataPath("jpeg-imagenet-samples") << " is missing");
  ScratchDir dir;
  WriteShards(dir.path(), 4, "GIF89a not a jpeg");
  Loader loader(SmallOptions(dir.path(), false));
  std::vector<int64_t> labels;
  while (BatchPtr b = loader.Next()) {
    for (int64_t l : Labels(*b)) labels.push_back(l);
  }
  EXPECT_EQ(labels.size(), static_cast<size_t>(kRecords - 1));
  EXPECT_EQ(std::count(labels.begin(), labels.end(), 4), 0);
  EXPECT_EQ(loader.counters().undecodable_images.load(), 1);
}

TEST_F(LoaderTest, LabelOutsideNumClassesIsAConfigurationError) {
  LoaderOptions o = SmallOptions(dir_.path(), false);
  o.label_offset = 0;  // labels 1..20 against 20 classes: label 20 is out of range
  Loader loader(o);
  try {
    while (loader.Next()) {
    }
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("--label_offset"), std::string::npos) << e.what();
  }
}

TEST_F(LoaderTest, IdxFilesAreUsedWhenPresent) {
  for (int s = 0; s < 3; ++s) {
    const std::string shard = dir_ / ShardFileName("train", s, 3);
    const ShardIndex index = ScanShard(shard, false);
    std::vector<RecordExtent> extents;
    const uint64_t size = std::filesystem::file_size(shard);
    for (size_t i = 0; i < index.offsets.size(); ++i) {
      const uint64_t end = i + 1 < index.offsets.size() ? index.offsets[i + 1] : size;
      extents.push_back({index.offsets[i], end - index.offsets[i]});
    }
    WriteIdxFile(IdxPathFor(shard), extents);
  }
  Loader loader(SmallOptions(dir_.path(), true));
  EXPECT_EQ(loader.total_records(), kRecords);
  EXPECT_NE(loader.Next(), nullptr);
}

TEST(Loader, SyntheticDataNeedsNoFiles) {
  LoaderOptions o;
  o.batch_size = 4;
  o.transform.output_size = 16;
  o.num_classes = 10;
  Loader loader(o);
  EXPECT_TRUE(loader.synthetic());
  BatchPtr b = loader.Next();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->size, 4);
  EXPECT_EQ(b->images.size(), 4u * 16 * 16 * 3);
  for (int64_t l : Labels(*b)) {
    EXPECT_GE(l, 0);
    EXPECT_LT(l, 10);
  }
}

TEST(Loader, MissingShardsAreReportedAtConstruction) {
  ScratchDir dir;
  kubecnn::testing::WriteFile(dir / "train-00001-of-00002", "");
  LoaderOptions o;
  o.data_dir = dir.path();
  EXPECT_THROW(Loader{o}, DataError);
}

}  // namespace
}  // namespace kubecnn::data

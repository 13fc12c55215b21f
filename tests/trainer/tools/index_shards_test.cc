// index: the .idx files it writes are exactly what the writer recorded, for every shard found.
#include "trainer/tools/index_shards.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_files.h"
#include "trainer/data/data_error.h"
#include "trainer/data/record_index.h"
#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::tools {
namespace {

namespace fs = std::filesystem;
using kubecnn::testing::ReadFile;

// Writes a shard of `n` records of growing size; returns the writer's extents.
std::vector<data::RecordExtent> WriteShard(const std::string& path, int n) {
  data::TfRecordWriter writer(path);
  for (int i = 0; i < n; ++i) writer.Write(std::string(static_cast<size_t>(i * 37 + 1), static_cast<char>('a' + i)));
  writer.Close();
  return writer.extents();
}

std::string IdxText(const std::vector<data::RecordExtent>& extents) {
  std::string text;
  for (const auto& e : extents) text += std::to_string(e.offset) + " " + std::to_string(e.framed_length) + "\n";
  return text;
}

TEST(IndexShards, WritesIdxFilesEqualToTheWritersExtentsForADirectory) {
  kubecnn::testing::ScratchDir dir;
  const auto a = WriteShard(dir / "train-00000-of-00002", 7);
  const auto b = WriteShard(dir / "train-00001-of-00002", 3);
  WriteShard(dir / "notes.tfrecord", 1);  // not a shard name: left alone
  EXPECT_EQ(RunIndexShards({"--num_threads=2", dir.path()}), 0);
  EXPECT_EQ(ReadFile(dir / "train-00000-of-00002.idx"), IdxText(a));
  EXPECT_EQ(ReadFile(dir / "train-00001-of-00002.idx"), IdxText(b));
  EXPECT_FALSE(fs::exists(dir / "notes.tfrecord.idx"));
}

TEST(IndexShards, ScanExtentsMatchesTheWriter) {
  kubecnn::testing::ScratchDir dir;
  const auto extents = WriteShard(dir / "x", 9);
  const auto scanned = ScanExtents(dir / "x");
  ASSERT_EQ(scanned.size(), extents.size());
  for (size_t i = 0; i < extents.size(); ++i) {
    EXPECT_EQ(scanned[i].offset, extents[i].offset);
    EXPECT_EQ(scanned[i].framed_length, extents[i].framed_length);
  }
}

TEST(IndexShards, EmptyShardGetsAnEmptyIndex) {
  kubecnn::testing::ScratchDir dir;
  WriteShard(dir / "validation-00000-of-00001", 0);
  EXPECT_EQ(RunIndexShards({dir / "validation-00000-of-00001"}), 0);
  EXPECT_EQ(ReadFile(dir / "validation-00000-of-00001.idx"), "");
}

TEST(IndexShards, TruncatedShardFailsAloneAndTheOthersAreIndexed) {
  kubecnn::testing::ScratchDir dir;
  const auto good = WriteShard(dir / "train-00000-of-00002", 4);
  WriteShard(dir / "train-00001-of-00002", 4);
  fs::resize_file(dir / "train-00001-of-00002", fs::file_size(dir / "train-00001-of-00002") - 3);
  const IndexTotals totals = IndexShards(ExpandShardArguments({dir.path()}), 2);
  EXPECT_EQ(totals.shards, 1);
  ASSERT_EQ(totals.errors.size(), 1u);
  EXPECT_NE(totals.errors[0].find("train-00001-of-00002"), std::string::npos) << totals.errors[0];
  EXPECT_EQ(ReadFile(dir / "train-00000-of-00002.idx"), IdxText(good));
  EXPECT_FALSE(fs::exists(dir / "train-00001-of-00002.idx"));
  EXPECT_EQ(RunIndexShards({dir.path()}), 1);
}

TEST(IndexShards, DirectoryWithoutShardsIsAnError) {
  kubecnn::testing::ScratchDir dir;
  EXPECT_THROW(ExpandShardArguments({dir.path()}), data::DataError);
  EXPECT_THROW(ExpandShardArguments({dir / "absent"}), data::DataError);
}

}  // namespace
}  // namespace kubecnn::tools

// TFRecord framing: round trips, every kind of corruption reported with file + offset + hint,
// skipping and resynchronising, and the TensorFlow-written files in ../shared/testdata.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/test_files.h"
#include "trainer/common/errors.h"
#include "trainer/data/data_error.h"
#include "trainer/data/record_index.h"
#include "trainer/data/tfrecord_reader.h"
#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::data {
namespace {

using kubecnn::testing::ReadFile;
using kubecnn::testing::ScratchDir;
using kubecnn::testing::TestdataPath;
using kubecnn::testing::WriteFile;

std::vector<std::string> Payloads() { return {"first", std::string(1000, 'x'), "", "last record"}; }

std::string WriteRecords(const ScratchDir& dir, const std::vector<std::string>& records) {
  TfRecordWriter writer(dir / "records.tfrecord");
  for (const auto& r : records) writer.Write(r);
  writer.Close();
  return writer.path();
}

std::vector<std::string> ReadAll(const std::string& path, bool skip_corrupt, int64_t* corrupt = nullptr) {
  TfRecordReader reader(path, skip_corrupt);
  std::vector<std::string> out;
  std::string record;
  while (reader.Next(&record)) out.push_back(record);
  if (corrupt) *corrupt = reader.corrupt_records();
  return out;
}

// A read that the storage fails (here EISDIR: the "shard" is a directory) is a TransientError, so
// the trainer exits 1 and the operator restarts the gang, not a DataError (exit 2: the job fails
// for good) as if the shard were corrupt.
TEST(TfRecord, AStorageReadErrorIsTransientNotBadData) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "train-00000-of-00001");
  RecordFile file(dir / "train-00000-of-00001");
  char buffer[16];
  try {
    file.ReadAt(0, buffer, sizeof buffer);
    FAIL() << "reading a directory succeeded";
  } catch (const kubecnn::TransientError& e) {
    EXPECT_NE(std::string(e.what()).find("storage error"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir / "train-00000-of-00001"), std::string::npos) << e.what();
  } catch (const kubecnn::PermanentError& e) {
    FAIL() << "a storage fault was reported as permanent: " << e.what();
  }
}

TEST(TfRecord, WriterOutputReadsBackIdentically) {
  ScratchDir dir;
  const std::string path = WriteRecords(dir, Payloads());
  EXPECT_EQ(ReadAll(path, false), Payloads());
  EXPECT_FALSE(kubecnn::testing::Exists(path + ".partial"));
}

TEST(TfRecord, FramingIsLengthCrcDataCrc) {
  const std::string framed = FrameRecord("abc");
  ASSERT_EQ(framed.size(), 3u + 16u);
  EXPECT_EQ(framed.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(framed.substr(12, 3), "abc");
}

TEST(TfRecord, WriterWithoutCloseLeavesNoFileBehind) {
  ScratchDir dir;
  {
    TfRecordWriter writer(dir / "abandoned");
    writer.Write("payload");
  }
  EXPECT_FALSE(kubecnn::testing::Exists(dir / "abandoned"));
  EXPECT_FALSE(kubecnn::testing::Exists(dir / "abandoned.partial"));
}

TEST(TfRecord, WriterExtentsDescribeEachFramedRecord) {
  ScratchDir dir;
  TfRecordWriter writer(dir / "x");
  writer.Write("ab");
  writer.Write("cdef");
  writer.Close();
  ASSERT_EQ(writer.extents().size(), 2u);
  EXPECT_EQ(writer.extents()[0].offset, 0u);
  EXPECT_EQ(writer.extents()[0].framed_length, 18u);
  EXPECT_EQ(writer.extents()[1].offset, 18u);
  EXPECT_EQ(writer.extents()[1].framed_length, 20u);
}

struct Corruption {
  const char* name;
  size_t byte;           // which byte of the file to flip (record 1 starts at 21: 16 + len("first"))
  const char* expected;  // words the error must contain
};

class TfRecordCorruption : public ::testing::TestWithParam<Corruption> {};

TEST_P(TfRecordCorruption, IsReportedWithFileOffsetAndHint) {
  ScratchDir dir;
  const std::string path = WriteRecords(dir, Payloads());
  std::string bytes = ReadFile(path);
  bytes[GetParam().byte] ^= 0x40;
  WriteFile(path, bytes);
  try {
    ReadAll(path, false);
    FAIL() << "corruption not detected";
  } catch (const DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
    EXPECT_NE(message.find("at offset 21"), std::string::npos) << message;
    EXPECT_NE(message.find("--skip_corrupt_records"), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(Bytes, TfRecordCorruption,
                         ::testing::Values(Corruption{"length", 21 + 1, "length CRC mismatch"},
                                           Corruption{"length_crc", 21 + 9, "length CRC mismatch"},
                                           Corruption{"data", 21 + 12 + 500, "data CRC mismatch"},
                                           Corruption{"data_crc", 21 + 12 + 1000 + 2, "data CRC mismatch"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TfRecord, SkipCorruptPassesOverABadPayloadAndCountsIt) {
  ScratchDir dir;
  const std::string path = WriteRecords(dir, Payloads());
  std::string bytes = ReadFile(path);
  bytes[21 + 12 + 10] ^= 1;  // payload of record 1
  WriteFile(path, bytes);
  int64_t corrupt = 0;
  const auto records = ReadAll(path, true, &corrupt);
  EXPECT_EQ(corrupt, 1);
  EXPECT_EQ(records, (std::vector<std::string>{"first", "", "last record"}));
}

TEST(TfRecord, SkipCorruptResynchronisesAfterABadLengthField) {
  ScratchDir dir;
  const std::string path = WriteRecords(dir, Payloads());
  std::string bytes = ReadFile(path);
  bytes[21 + 3] ^= 0x10;  // length of record 1: its true extent is unknowable, so scan for the next valid header
  WriteFile(path, bytes);
  int64_t corrupt = 0;
  const auto records = ReadAll(path, true, &corrupt);
  EXPECT_EQ(corrupt, 1);
  EXPECT_EQ(records, (std::vector<std::string>{"first", "", "last record"}));
}

TEST(TfRecord, TruncatedFileIsAnErrorOrACountedSkip) {
  ScratchDir dir;
  const std::string path = WriteRecords(dir, Payloads());
  const std::string bytes = ReadFile(path);
  WriteFile(path, bytes.substr(0, bytes.size() - 3));
  EXPECT_THROW(ReadAll(path, false), DataError);
  int64_t corrupt = 0;
  EXPECT_EQ(ReadAll(path, true, &corrupt).size(), 3u);
  EXPECT_EQ(corrupt, 1);
  try {
    ReadAll(path, false);
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated record"), std::string::npos) << e.what();
  }
}

TEST(TfRecord, MissingFileErrorNamesThePath) {
  try {
    TfRecordReader reader("/nonexistent/train-00000-of-00001");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/train-00000-of-00001"), std::string::npos);
  }
}

TEST(RecordIndex, ScanFindsEveryRecordAndIdxFileRoundTrips) {
  ScratchDir dir;
  TfRecordWriter writer(dir / "s");
  for (const auto& r : Payloads()) writer.Write(r);
  writer.Close();
  const ShardIndex scanned = ScanShard(writer.path(), false);
  ASSERT_EQ(scanned.size(), 4);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(scanned.offsets[i], writer.extents()[i].offset);

  WriteIdxFile(IdxPathFor(writer.path()), writer.extents());
  const ShardIndex loaded = IndexShard(writer.path(), false);
  EXPECT_TRUE(loaded.from_idx_file);
  EXPECT_EQ(loaded.offsets, scanned.offsets);
}

TEST(RecordIndex, StaleIdxFileIsIgnoredWithAReason) {
  ScratchDir dir;
  TfRecordWriter writer(dir / "s");
  writer.Write("one");
  writer.Write("two");
  writer.Close();
  WriteFile(IdxPathFor(writer.path()), "0 19\n");  // describes only the first record
  const ShardIndex index = IndexShard(writer.path(), false);
  EXPECT_FALSE(index.from_idx_file);
  EXPECT_EQ(index.size(), 2);
  EXPECT_NE(index.idx_ignored_reason.find("records end at byte 19"), std::string::npos) << index.idx_ignored_reason;
}

struct RealFile {
  const char* path;
  int64_t records;
};

class TensorFlowWrittenFiles : public ::testing::TestWithParam<RealFile> {};

TEST_P(TensorFlowWrittenFiles, ReadWithEveryCrcValidAndTheDocumentedRecordCount) {
  const std::string path = TestdataPath(GetParam().path);
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(path), path << " not present");
  EXPECT_EQ(static_cast<int64_t>(ReadAll(path, false).size()), GetParam().records);
  EXPECT_EQ(ScanShard(path, false).size(), GetParam().records);
}

// Counts from ../shared/testdata/SOURCES.md, which checked them with an independent parser.
INSTANTIATE_TEST_SUITE_P(
    SharedTestdata, TensorFlowWrittenFiles,
    ::testing::Values(RealFile{"tfrecord-flowers/flowers_validation_00000-of-00005.tfrecord", 70},
                      RealFile{"tfrecord-flowers/flowers_validation_00001-of-00005.tfrecord", 70},
                      RealFile{"tfrecord-raccoon-detection/test.record", 40},
                      RealFile{"tfrecord-inception-build-image-data/validation-00000-of-00002", 25},
                      RealFile{"tfrecord-voc-segmentation/val-00000-of-00001.tfrecord", 3},
                      RealFile{"tfrecord-tfx-cifar10/cifar10_train.tfrecord", 128},
                      RealFile{"tfrecord-tfx-mnist-floats/mnist.tfrecord", 1000},
                      RealFile{"tfevents-tf1-estimator/events.out.tfevents.1646034739.jiyongjung.c.googlers.com", 28},
                      RealFile{"tfevents-keras-tf2/train/events.out.tfevents.1598485465.penguin.1486.6519.v2", 244}));

TEST(TfRecord, DaliIdxFileFormatParses) {
  // DALI's own index of a 47-record file: contiguous "<offset> <framed length>" lines.
  const std::string idx = TestdataPath("dali-idx-format/tfrecord_train.idx");
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(idx), idx << " is missing");
  const std::string text = ReadFile(idx);
  uint64_t last_offset = 0, last_length = 0, lines = 0;
  std::istringstream in(text);
  uint64_t offset, length;
  while (in >> offset >> length) {
    last_offset = offset;
    last_length = length;
    ++lines;
  }
  ASSERT_EQ(lines, 47u);
  // The matching shard is not available; a shard of exactly that size is accepted, any other refused.
  std::string why;
  EXPECT_TRUE(LoadIdxFile(idx, "train", last_offset + last_length, &why).has_value()) << why;
  EXPECT_FALSE(LoadIdxFile(idx, "train", last_offset + last_length + 1, &why).has_value());
}

}  // namespace
}  // namespace kubecnn::data

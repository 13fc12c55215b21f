// inspect: corrupt records are found at their offsets (exit code 1), resynchronisation keeps
// counting, and real TensorFlow-written files are described.
#include "trainer/tools/inspect.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/support/test_files.h"
#include "trainer/common/flags.h"
#include "trainer/data/image_example.h"
#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::tools {
namespace {

using kubecnn::testing::ReadFile;
using kubecnn::testing::WriteFile;

class InspectTest : public ::testing::Test {
 protected:
  // Five records holding the same real JPEG (or a small fake one when testdata is absent).
  void SetUp() override {
    const std::string sample = kubecnn::testing::TestdataPath("jpeg-imagenet-samples/n01440764_tench.JPEG");
    jpeg_ = kubecnn::testing::Exists(sample) ? ReadFile(sample) : std::string("\xff\xd8 not decodable", 16);
    data::TfRecordWriter writer(path_);
    for (int i = 0; i < 5; ++i) {
      data::ImageExampleFields fields;
      fields.encoded = jpeg_;
      fields.label = i + 1;
      writer.Write(data::SerializeImageExample(fields));
    }
    writer.Close();
    extents_ = writer.extents();
  }

  void FlipByte(uint64_t offset) {
    std::string bytes = ReadFile(path_);
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x40);
    WriteFile(path_, bytes);
  }

  kubecnn::testing::ScratchDir scratch_;
  std::string path_ = scratch_ / "train-00000-of-00001";
  std::string jpeg_;
  std::vector<data::RecordExtent> extents_;
};

TEST_F(InspectTest, CleanFileCountsEveryRecordAndExitsZero) {
  std::ostringstream out;
  EXPECT_EQ(Inspect({path_}, {}, out), 0);
  EXPECT_NE(out.str().find("5 records"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("all CRCs ok"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("image/class/label: int64[1] = 1"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("record 3 at"), std::string::npos) << "--records defaults to 3";
}

TEST_F(InspectTest, ShowsTheJpegHeaderSize) {
  KUBECNN_SKIP_IF(jpeg_.size() < 100, "testdata absent");
  std::ostringstream out;
  Inspect({path_}, {.records_to_show = 1}, out);
  EXPECT_NE(out.str().find("JPEG header: "), std::string::npos) << out.str();
}

TEST_F(InspectTest, CorruptPayloadIsReportedAtItsOffsetAndStopsTheWalk) {
  FlipByte(extents_[2].offset + 20);  // inside record 2's payload
  std::ostringstream out;
  EXPECT_EQ(Inspect({path_}, {}, out), 1);
  EXPECT_NE(out.str().find("data CRC mismatch at offset " + std::to_string(extents_[2].offset)), std::string::npos)
      << out.str();
  const FileInspection inspection = InspectFile(path_, {});
  EXPECT_EQ(inspection.records, 2);
  EXPECT_TRUE(inspection.stopped_early);
}

TEST_F(InspectTest, SkipCorruptRecordsKeepsCountingAfterABadPayload) {
  FlipByte(extents_[2].offset + 20);
  const FileInspection inspection = InspectFile(path_, {.records_to_show = 0, .skip_corrupt = true});
  EXPECT_EQ(inspection.records, 4);
  ASSERT_EQ(inspection.corrupt.size(), 1u);
  EXPECT_EQ(inspection.corrupt[0].offset, extents_[2].offset);
  EXPECT_FALSE(inspection.stopped_early);
}

TEST_F(InspectTest, SkipCorruptRecordsResynchronisesAfterABadLengthHeader) {
  FlipByte(extents_[1].offset + 3);  // record 1's length: its extent can no longer be trusted
  const FileInspection inspection = InspectFile(path_, {.records_to_show = 0, .skip_corrupt = true});
  EXPECT_EQ(inspection.records, 4);
  ASSERT_EQ(inspection.corrupt.size(), 1u);
  EXPECT_EQ(inspection.corrupt[0].status, data::RecordStatus::kBadLengthCrc);
}

TEST_F(InspectTest, UnreadableFileIsReportedAndTheOthersStillInspected) {
  std::ostringstream out;
  EXPECT_EQ(Inspect({scratch_ / "missing", path_}, {}, out), 1);
  EXPECT_NE(out.str().find("missing: ERROR"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("total: 2 files, 5 records, 0 corrupt"), std::string::npos) << out.str();
}

TEST(Inspect, DescribesTensorFlowWrittenShardsAndEventFiles) {
  const std::string shard =
      kubecnn::testing::TestdataPath("tfrecord-inception-build-image-data/validation-00000-of-00002");
  const std::string events =
      kubecnn::testing::TestdataPath("tfevents-keras-tf2/train/events.out.tfevents.1598485465.penguin.1486.6519.v2");
  KUBECNN_SKIP_IF(!kubecnn::testing::Exists(shard) || !kubecnn::testing::Exists(events), "testdata absent");
  std::ostringstream out;
  EXPECT_EQ(Inspect({shard, events}, {.records_to_show = 1}, out), 0);
  EXPECT_NE(out.str().find("image/encoded: bytes[1]"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("JPEG header: "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("no features"), std::string::npos) << out.str();  // an Event, not an Example
}

TEST(Inspect, NoFilesIsAUsageError) { EXPECT_THROW(RunInspect({"--records=2"}), UsageError); }

}  // namespace
}  // namespace kubecnn::tools

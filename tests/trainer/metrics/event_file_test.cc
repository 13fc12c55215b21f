// Event files: what we write reads back; the real TensorFlow, Keras and PyTorch files read as
// SOURCES.md documents them; TensorBoard itself reads ours (when its Python package is there).
#include "trainer/metrics/event_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "tests/support/s3_server.h"
#include "tests/support/test_files.h"

namespace kubecnn::metrics {
namespace {

using kubecnn::testing::Exists;
using kubecnn::testing::TestdataPath;

std::map<std::string, std::vector<ScalarEvent>> ByTag(const EventFileContents& contents) {
  std::map<std::string, std::vector<ScalarEvent>> out;
  for (const ScalarEvent& s : contents.scalars) out[s.tag].push_back(s);
  return out;
}

TEST(EventFile, WrittenScalarsReadBack) {
  kubecnn::testing::ScratchDir dir;
  std::string path;
  {
    EventWriter writer(dir.path());
    path = writer.path();
    EXPECT_NE(path.find("events.out.tfevents."), std::string::npos);
    for (int step = 0; step < 10; ++step) {
      writer.AddScalar("train/loss", 2.5 - step * 0.1, step, 1000.0 + step);
      writer.AddScalar("train/learning_rate", 0.1, step, 1000.0 + step);
    }
    writer.Flush();
  }
  const EventFileContents contents = ReadEventFile(path);
  EXPECT_EQ(contents.file_version, "brain.Event:2");
  EXPECT_EQ(contents.events, 21);
  const auto tags = ByTag(contents);
  ASSERT_EQ(tags.at("train/loss").size(), 10u);
  EXPECT_EQ(tags.at("train/loss")[3].step, 3);
  EXPECT_FLOAT_EQ(tags.at("train/loss")[3].value, 2.2f);
  EXPECT_DOUBLE_EQ(tags.at("train/loss")[3].wall_time, 1003.0);
}

TEST(EventFile, TwoWritersInOneDirectoryGetTwoFiles) {
  kubecnn::testing::ScratchDir dir;
  EventWriter a(dir.path());
  EventWriter b(dir.path());
  EXPECT_NE(a.path(), b.path());
}

TEST(EventFile, ReadsATensorFlow1EstimatorFile) {
  const std::string path =
      TestdataPath("tfevents-tf1-estimator/events.out.tfevents.1646034739.jiyongjung.c.googlers.com");
  KUBECNN_SKIP_IF(!Exists(path), path << " is missing");
  const EventFileContents contents = ReadEventFile(path);
  EXPECT_EQ(contents.file_version, "brain.Event:2");
  EXPECT_EQ(contents.events, 28);
  EXPECT_EQ(contents.summaries, 19);
  const auto tags = ByTag(contents);
  ASSERT_TRUE(tags.count("loss"));
  EXPECT_EQ(tags.at("loss").front().step, 1);
  EXPECT_EQ(tags.at("loss").back().step, 901);
}

TEST(EventFile, ReadsKerasTf2BatchAndEpochScalars) {
  const std::string path = TestdataPath("tfevents-keras-tf2/train/events.out.tfevents.1598485465.penguin.1486.6519.v2");
  KUBECNN_SKIP_IF(!Exists(path), path << " is missing");
  const EventFileContents contents = ReadEventFile(path);
  EXPECT_EQ(contents.events, 244);
  const auto tags = ByTag(contents);
  EXPECT_EQ(tags.at("batch_loss").size(), 100u);
  EXPECT_EQ(tags.at("batch_sparse_categorical_accuracy").size(), 100u);
  EXPECT_EQ(tags.at("epoch_loss").size(), 20u);
  EXPECT_EQ(tags.at("epoch_loss").front().step, 0);  // the step field is omitted when 0
}

TEST(EventFile, ReadsPyTorchSummaryWriterFiles) {
  const std::string dir = TestdataPath("tfevents-pytorch-summarywriter/strict/run_1");
  KUBECNN_SKIP_IF(!Exists(dir), dir << " is missing");
  std::vector<std::string> events;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) events.push_back(entry.path().string());
  ASSERT_EQ(events.size(), 1u);
  const auto tags = ByTag(ReadEventFile(events[0]));
  const auto& foo = tags.at("strict/foo");
  ASSERT_EQ(foo.size(), 100u);
  for (size_t i = 0; i < foo.size(); ++i) EXPECT_EQ(foo[i].step, static_cast<int64_t>(5 * i));
}

TEST(EventFile, ReadsDuplicateStepsAsWritten) {
  const std::string dir = TestdataPath("tfevents-pytorch-summarywriter/duplicate_steps/run_1");
  KUBECNN_SKIP_IF(!Exists(dir), dir << " is missing");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto tags = ByTag(ReadEventFile(entry.path().string()));
    const auto& foo = tags.at("dup_steps/foo");
    EXPECT_EQ(foo.size(), 210u);
    std::set<int64_t> steps;
    for (const auto& s : foo) steps.insert(s.step);
    EXPECT_EQ(steps.size(), 200u);
  }
}

TEST(EventFile, ReadsTheProfileDemoFile) {
  const std::string path = TestdataPath("tfevents-tb-profile-demo/end_2_end.tfevents");
  KUBECNN_SKIP_IF(!Exists(path), path << " is missing");
  const EventFileContents contents = ReadEventFile(path);
  EXPECT_EQ(contents.events, 25);
  for (const auto& s : contents.scalars) EXPECT_EQ(s.step, 0);
}

TEST(EventFile, TensorBoardItselfReadsOurScalars) {
  const char* python = "/opt/kubecnn/venv/bin/python3";
  KUBECNN_SKIP_IF(std::system((std::string(python) + " -c 'import tensorboard' 2>/dev/null").c_str()) != 0,
                  "tensorboard is not installed in " << python);
  kubecnn::testing::ScratchDir dir;
  {
    EventWriter writer(dir.path());
    for (int step = 0; step < 5; ++step) writer.AddScalar("train/images_per_second", 100.0 * step, step, 1.0 + step);
    writer.Flush();
  }
  const std::string script =
      "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator as E\n"
      "a = E('" +
      dir.path() +
      "'); a.Reload()\n"
      "v = [(e.step, e.value) for e in a.Scalars('train/images_per_second')]\n"
      "assert v == [(s, 100.0 * s) for s in range(5)], v\n";
  kubecnn::testing::WriteFile(dir / "check.py", script);
  EXPECT_EQ(std::system((std::string(python) + " " + (dir / "check.py")).c_str()), 0);
}

TEST(EventFile, TensorBoardItselfReadsOurScalarsFromABucket) {
  // TensorBoard's own s3:// reader (its TensorFlow stub file system: boto3, with S3_ENDPOINT for a
  // custom endpoint) reads the event file the trainer keeps in a bucket.
  const char* python = "/opt/kubecnn/venv/bin/python3";
  KUBECNN_SKIP_IF(std::system((std::string(python) + " -c 'import tensorboard, boto3' 2>/dev/null").c_str()) != 0,
                  "tensorboard or boto3 is not installed in " << python << " (scripts/install-deps.sh)");
  KUBECNN_SKIP_WITHOUT_CEPH();
  const auto& gateway = kubecnn::testing::CephObjectGateway::Shared();
  setenv("AWS_ACCESS_KEY_ID", gateway.account().access_key.c_str(), 1);
  setenv("AWS_SECRET_ACCESS_KEY", gateway.account().secret_key.c_str(), 1);
  setenv("AWS_ENDPOINT_URL_S3", gateway.endpoint().c_str(), 1);
  const std::string bucket = gateway.CreateUniqueBucket("events");
  {
    EventWriter writer("s3://" + bucket + "/run");
    for (int step = 0; step < 5; ++step) writer.AddScalar("train/loss", 2.0 - 0.25 * step, step, 1.0 + step);
    writer.Flush();
  }  // closed: the whole file is in the bucket
  kubecnn::testing::ScratchDir dir;
  const std::string script =
      "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator as E\n"
      "a = E('s3://" +
      bucket +
      "/run'); a.Reload()\n"
      "v = [(e.step, e.value) for e in a.Scalars('train/loss')]\n"
      "assert v == [(s, 2.0 - 0.25 * s) for s in range(5)], v\n";
  kubecnn::testing::WriteFile(dir / "check.py", script);
  const std::string command =
      "S3_ENDPOINT=" + gateway.endpoint() + " AWS_REGION=us-east-1 " + python + " " + (dir / "check.py");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace
}  // namespace kubecnn::metrics

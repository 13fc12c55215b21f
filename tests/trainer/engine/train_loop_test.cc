// Short real training runs on the CPU: the loss falls, a resumed run continues exactly where the
// uninterrupted one would be, evaluation counts every validation record, bad resumes are refused;
// and all of it with shards, checkpoints, events and results in a bucket of a real Ceph RGW.
#include "trainer/engine/train_loop.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/photo_shards.h"
#include "tests/support/s3_server.h"
#include "tests/support/test_files.h"
#include "trainer/checkpoint/checkpoint_files.h"
#include "trainer/engine/evaluate.h"
#include "trainer/metrics/event_file.h"
#include "trainer/storage/storage.h"

namespace kubecnn::engine {
namespace {

using kubecnn::testing::ScratchDir;

TrainConfig TinyConfig(const std::string& data_dir, const std::string& log_dir, int64_t steps) {
  TrainConfig c;
  c.model = "tiny";
  c.num_classes = 4;
  c.data.data_dir = data_dir;
  c.data.batch_size = 4;
  c.data.transform.output_size = 32;
  c.data.num_threads = 2;
  c.data.shuffle_buffer = 8;
  c.data.seed = 7;
  c.num_batches = steps;
  c.learning_rate = 0.05;
  c.lr_schedule = optim::ParseLrSchedule("constant");
  c.log_dir = log_dir;
  c.display_every = 2;
  return c;
}

class TrainLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);  // bitwise-reproducible CPU kernels for the resume comparison
    KUBECNN_SKIP_IF(!kubecnn::testing::WritePhotoShards(data_.path(), 24, 3, 4), "testdata photos not present");
  }
  ScratchDir data_;
};

TEST(TrainLoop, LossFallsOnSyntheticData) {
  torch::set_num_threads(1);
  TrainConfig c = TinyConfig("", "", 40);  // synthetic data repeats one batch: it can be learned
  c.learning_rate = 0.1;
  const TrainResult r = Train(c, "test");
  ASSERT_EQ(r.losses.size(), 40u);
  const double first = (r.losses[0] + r.losses[1] + r.losses[2]) / 3;
  const double last = (r.losses[37] + r.losses[38] + r.losses[39]) / 3;
  EXPECT_LT(last, first * 0.5) << "first " << first << " last " << last;
}

TEST(TrainLoop, ForcedGradientSyncOnOneRankChangesNoLoss) {
  // --force_gradient_sync on one rank: .grad become views into the buckets, averaged over a world
  // of one; the trajectory must be the plain optimizer's, bit for bit.
  torch::set_num_threads(1);
  TrainConfig plain = TinyConfig("", "", 12);
  TrainConfig synced = plain;
  synced.force_gradient_sync = true;
  synced.gradient_sync.fusion_threshold_bytes = 4096;  // several buckets
  const TrainResult a = Train(plain, "test");
  const TrainResult b = Train(synced, "test");
  ASSERT_EQ(a.losses.size(), 12u);
  EXPECT_EQ(a.losses, b.losses);
}

TEST_F(TrainLoopTest, ResumedRunContinuesTheUninterruptedTrajectory) {
  ScratchDir straight, interrupted;
  const TrainResult reference = Train(TinyConfig(data_.path(), straight.path(), 10), "test");
  ASSERT_EQ(reference.losses.size(), 10u);

  const TrainResult first = Train(TinyConfig(data_.path(), interrupted.path(), 4), "test");
  EXPECT_EQ(first.last_checkpoint, interrupted / checkpoint::CheckpointFileName(4));
  const TrainResult second = Train(TinyConfig(data_.path(), interrupted.path(), 10), "test");
  EXPECT_EQ(second.first_step, 4);
  ASSERT_EQ(second.losses.size(), 6u);
  for (size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(first.losses[i], reference.losses[i]) << i;
  for (size_t i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(second.losses[i], reference.losses[4 + i]) << "step " << 5 + i;
}

TEST_F(TrainLoopTest, CheckpointOfAnotherModelIsRefusedWithTheReason) {
  ScratchDir log;
  Train(TinyConfig(data_.path(), log.path(), 2), "test");
  TrainConfig other = TinyConfig(data_.path(), log.path(), 4);
  other.model = "tiny_nobn";
  try {
    Train(other, "test");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--model was tiny, this run has tiny_nobn"), std::string::npos) << e.what();
  }
}

TEST_F(TrainLoopTest, EvaluationCountsEveryValidationRecordAndWritesJson) {
  ScratchDir log;
  Train(TinyConfig(data_.path(), log.path(), 3), "test");
  TrainConfig eval = TinyConfig(data_.path(), log.path(), 0);
  eval.data.batch_size = 5;  // 24 records: a partial last batch
  const EvalResult r = RunEvaluation(eval);
  EXPECT_EQ(r.counts.images, 24);
  EXPECT_LE(r.counts.top1, r.counts.top5);
  EXPECT_EQ(r.counts.top5, 24);  // 4 classes: the top 5 hold them all
  EXPECT_EQ(r.step, 3);
  // The file is JSON (the checkpoint path escaped), written whole: every field is there.
  const nlohmann::json written = nlohmann::json::parse(kubecnn::testing::ReadFile(log / "eval-3.json"));
  EXPECT_EQ(written.at("images"), 24);
  EXPECT_EQ(written.at("step"), 3);
  EXPECT_EQ(written.at("top5_correct"), r.counts.top5);
  EXPECT_DOUBLE_EQ(written.at("top1").get<double>(), r.counts.top1_ratio());
  EXPECT_EQ(written.at("checkpoint"), r.checkpoint);
  EXPECT_FALSE(std::filesystem::exists(log / "eval-3.json.partial"));
}

TEST_F(TrainLoopTest, TensorBoardShowsLossLrAndThroughput) {
  ScratchDir log;
  Train(TinyConfig(data_.path(), log.path(), 4), "test");
  std::string events;
  for (const auto& entry : std::filesystem::directory_iterator(log.path())) {
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) events = entry.path().string();
  }
  ASSERT_FALSE(events.empty());
  std::set<std::string> tags;
  for (const auto& s : metrics::ReadEventFile(events).scalars) tags.insert(s.tag);
  for (const char* tag : {"train/loss", "train/learning_rate", "train/images_per_second", "train/loss_scale"}) {
    EXPECT_TRUE(tags.count(tag)) << tag;
  }
}

TEST_F(TrainLoopTest, EvalWithoutCheckpointSaysSo) {
  ScratchDir empty;
  try {
    RunEvaluation(TinyConfig(data_.path(), empty.path(), 0));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint"), std::string::npos) << e.what();
  }
}

// The same runs with s3:// paths: the trainer reads the environment as the AWS tools do.
class S3TrainLoopTest : public TrainLoopTest {
 protected:
  void SetUp() override {
    TrainLoopTest::SetUp();
    if (IsSkipped()) return;
    KUBECNN_SKIP_WITHOUT_CEPH();
    const auto& gateway = kubecnn::testing::CephObjectGateway::Shared();
    // Read once, at the first s3:// path of this process; every test here sets the same values.
    setenv("AWS_ACCESS_KEY_ID", gateway.account().access_key.c_str(), 1);
    setenv("AWS_SECRET_ACCESS_KEY", gateway.account().secret_key.c_str(), 1);
    setenv("AWS_ENDPOINT_URL_S3", gateway.endpoint().c_str(), 1);
    bucket_ = gateway.CreateUniqueBucket("train");
    for (const auto& entry : std::filesystem::directory_iterator(data_.path())) {
      gateway.PutObject(bucket_, "shards/" + entry.path().filename().string(),
                        kubecnn::testing::ReadFile(entry.path().string()));
    }
  }
  std::string Url(const std::string& key) const { return "s3://" + bucket_ + "/" + key; }
  std::vector<std::string> Keys(const std::string& prefix) const {
    return kubecnn::testing::CephObjectGateway::Shared().ListKeys(bucket_, prefix);
  }
  std::string bucket_;
};

TEST_F(S3TrainLoopTest, ShardsInABucketTrainExactlyAsFromDiskInEveryShuffleMode) {
  for (const int64_t shuffle_buffer : {int64_t{0}, int64_t{8}}) {
    SCOPED_TRACE(shuffle_buffer);
    TrainConfig local = TinyConfig(data_.path(), "", 6);
    local.data.shuffle_buffer = shuffle_buffer;
    TrainConfig remote = TinyConfig(Url("shards"), "", 6);
    remote.data.shuffle_buffer = shuffle_buffer;
    remote.data.read_ahead_mb = 1;  // a budget far below the data: ranges are freed and refetched
    remote.data.read_connections = 3;
    const TrainResult a = Train(local, "test");
    const TrainResult b = Train(remote, "test");
    ASSERT_EQ(a.losses.size(), 6u);
    EXPECT_EQ(a.losses, b.losses);
  }
}

TEST_F(S3TrainLoopTest, ResumesFromTheNewestCheckpointObjectAndKeepsOnlyTheNewest) {
  ScratchDir straight;
  const TrainResult reference = Train(TinyConfig(data_.path(), straight.path(), 10), "test");
  TrainConfig first = TinyConfig(Url("shards"), Url("run"), 4);
  first.keep_checkpoints = 1;
  const TrainResult a = Train(first, "test");
  EXPECT_EQ(a.last_checkpoint, Url("run/") + checkpoint::CheckpointFileName(4));
  TrainConfig second = TinyConfig(Url("shards"), Url("run"), 10);
  second.keep_checkpoints = 1;
  const TrainResult b = Train(second, "test");
  EXPECT_EQ(b.first_step, 4);
  ASSERT_EQ(b.losses.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(b.losses[i], reference.losses[4 + i]) << "step " << 5 + i;
  // --keep_checkpoints=1 deleted step 4's object; no temporary or partial object is left.
  std::vector<std::string> checkpoints;
  for (const std::string& key : Keys("run/")) {
    if (key.find("model.ckpt") != std::string::npos) checkpoints.push_back(key);
  }
  EXPECT_EQ(checkpoints, std::vector<std::string>{"run/" + checkpoint::CheckpointFileName(10)});
  EXPECT_EQ(checkpoint::NewestCheckpoint(Url("run")), Url("run/") + checkpoint::CheckpointFileName(10));
}

TEST_F(S3TrainLoopTest, EvaluationReadsTheCheckpointObjectAndWritesItsResultAndEventsToTheBucket) {
  Train(TinyConfig(Url("shards"), Url("run"), 3), "test");
  TrainConfig eval = TinyConfig(Url("shards"), Url("run"), 0);
  eval.data.batch_size = 5;
  const EvalResult r = RunEvaluation(eval);
  EXPECT_EQ(r.counts.images, 24);
  EXPECT_EQ(r.step, 3);
  EXPECT_EQ(r.checkpoint, Url("run/") + checkpoint::CheckpointFileName(3));
  const nlohmann::json written =
      nlohmann::json::parse(kubecnn::storage::StorageFor(Url("run")).ReadAll(Url("run/eval-3.json")));
  EXPECT_EQ(written.at("images"), 24);
  // The event file is a whole TFRecord file in the bucket, read back through the same storage.
  std::string events;
  for (const std::string& key : Keys("run/")) {
    if (key.find("events.out.tfevents.") != std::string::npos) events = key;
  }
  ASSERT_FALSE(events.empty());
  const metrics::EventFileContents contents = metrics::ReadEventFile(Url(events));
  EXPECT_EQ(contents.file_version, "brain.Event:2");
  std::set<std::string> tags;
  for (const auto& scalar : contents.scalars) tags.insert(scalar.tag);
  EXPECT_TRUE(tags.count("train/loss")) << contents.scalars.size();
}

}  // namespace
}  // namespace kubecnn::engine

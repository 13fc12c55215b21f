// Inference: a trained checkpoint classifies real photos; bad files are reported, not fatal.
#include "trainer/engine/infer.h"

#include <gtest/gtest.h>

#include "tests/support/photo_shards.h"
#include "tests/support/test_files.h"
#include "trainer/checkpoint/checkpoint.h"
#include "trainer/engine/model_setup.h"
#include "trainer/engine/train_loop.h"

namespace kubecnn::engine {
namespace {

using kubecnn::testing::ScratchDir;

TEST(Infer, TrainedCheckpointGivesRankedProbabilitiesAndBadFilesAnError) {
  torch::set_num_threads(1);
  ScratchDir data, log;
  KUBECNN_SKIP_IF(!kubecnn::testing::WritePhotoShards(data.path(), 8, 1, 4), "testdata photos not present");
  TrainConfig config;
  config.model = "tiny";
  config.num_classes = 4;
  config.data.data_dir = data.path();
  config.data.batch_size = 4;
  config.data.transform.output_size = 32;
  config.data.num_threads = 1;
  config.num_batches = 2;
  config.log_dir = log.path();
  const TrainResult trained = Train(config, "test");

  const checkpoint::Checkpoint saved = checkpoint::LoadCheckpoint(trained.last_checkpoint);
  const RunDevice device = ChooseRunDevice(config, 0);
  auto model = BuildModel(config, device);
  LoadModelState(*model, saved.model, trained.last_checkpoint);
  model->eval();
  const auto photos = kubecnn::testing::ListFiles(kubecnn::testing::TestdataPath("jpeg-imagenet-samples"), ".JPEG");
  kubecnn::testing::WriteFile(log / "not.jpg", "GIF89a");
  data::TransformOptions transform;
  transform.train = false;
  transform.output_size = 32;
  const auto results = Classify(*model, {photos[0], log / "not.jpg", photos[1]}, transform, device, 5);
  ASSERT_EQ(results.size(), 3u);
  for (size_t i : {0u, 2u}) {
    ASSERT_TRUE(results[i].error.empty()) << results[i].error;
    ASSERT_EQ(results[i].top.size(), 4u);  // only 4 classes exist
    double sum = 0;
    for (size_t k = 0; k < 4; ++k) {
      sum += results[i].top[k].probability;
      if (k > 0) {
        EXPECT_LE(results[i].top[k].probability, results[i].top[k - 1].probability);
      }
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_GT(results[i].preprocess_ms, 0);
    EXPECT_GT(results[i].model_ms, 0);
  }
  EXPECT_FALSE(results[1].error.empty());
}

TEST(Infer, ClassNamesComeFromMakeShardsLabelsFile) {
  ScratchDir dir;
  kubecnn::testing::WriteFile(dir / "labels.txt", "1\tn01440764\ttench\n2\tCoat\n");
  const auto names = ReadClassNames(dir / "labels.txt", 1);
  EXPECT_EQ(names.at(0), "tench");
  EXPECT_EQ(names.at(1), "Coat");
  EXPECT_THROW(ReadClassNames(dir / "absent.txt", 1), ConfigError);
}

}  // namespace
}  // namespace kubecnn::engine

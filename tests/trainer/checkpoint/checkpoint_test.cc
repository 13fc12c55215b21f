// Checkpoints: exact round trip, every kind of damage reported, atomic saves survive SIGKILL,
// incompatible configurations explained, naming and pruning.
#include "trainer/checkpoint/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "tests/support/test_files.h"
#include "trainer/checkpoint/checkpoint_files.h"
#include "trainer/data/crc32c.h"

namespace kubecnn::checkpoint {
namespace {

using kubecnn::testing::ReadFile;
using kubecnn::testing::ScratchDir;
using kubecnn::testing::WriteFile;

Checkpoint Sample(int64_t step, int64_t elements = 1000) {
  torch::manual_seed(step);
  Checkpoint c;
  c.config = {"resnet18", 10, 32, 2, 64};
  c.step = step;
  c.epoch = 3;
  c.data_position = 12345;
  c.model["conv1.weight"] = torch::randn({elements});
  c.model["bn1.num_batches_tracked"] = torch::tensor(int64_t{7});
  c.optimizer["conv1.weight.momentum"] = torch::randn({elements});
  c.scalars["loss_scale"] = 65536.0;
  c.scalars["good_steps"] = 17;
  c.rng_state = at::detail::getDefaultCPUGenerator().get_state();
  c.command_line = "kubecnn-trainer --model=resnet18";
  return c;
}

TEST(Checkpoint, RoundTripsEveryField) {
  ScratchDir dir;
  const Checkpoint saved = Sample(42);
  SaveCheckpoint(dir / "c.pt", saved);
  const Checkpoint loaded = LoadCheckpoint(dir / "c.pt");
  EXPECT_EQ(loaded.config, saved.config);
  EXPECT_EQ(loaded.step, 42);
  EXPECT_EQ(loaded.epoch, 3);
  EXPECT_EQ(loaded.data_position, 12345);
  ASSERT_EQ(loaded.model.size(), 2u);
  EXPECT_TRUE(torch::equal(loaded.model.at("conv1.weight"), saved.model.at("conv1.weight")));
  EXPECT_EQ(loaded.model.at("bn1.num_batches_tracked").item<int64_t>(), 7);
  EXPECT_TRUE(torch::equal(loaded.optimizer.at("conv1.weight.momentum"), saved.optimizer.at("conv1.weight.momentum")));
  EXPECT_EQ(loaded.scalars, saved.scalars);
  EXPECT_TRUE(torch::equal(loaded.rng_state, saved.rng_state));
  EXPECT_EQ(loaded.command_line, saved.command_line);
  EXPECT_FALSE(kubecnn::testing::Exists(dir / "c.pt.partial"));
}

TEST(Checkpoint, DamageIsReportedWithWhatToDo) {
  ScratchDir dir;
  SaveCheckpoint(dir / "c.pt", Sample(1));
  const std::string good = ReadFile(dir / "c.pt");
  const struct {
    std::string bytes;
    const char* expected;
  } cases[] = {
      {good.substr(0, good.size() - 100), "truncated"},
      {good.substr(0, 10), "not a kubecnn checkpoint"},
      {"PK\x03\x04 a torch.save zip", "not a kubecnn checkpoint"},
      {[&] {
         std::string b = good;
         b[good.size() / 2] ^= 1;
         return b;
       }(),
       "CRC mismatch"},
      {[&] {
         std::string b = good;
         b[12] = 9;  // version
         return b;
       }(),
       "format version 9"},
  };
  for (const auto& c : cases) {
    WriteFile(dir / "bad.pt", c.bytes);
    try {
      LoadCheckpoint(dir / "bad.pt");
      FAIL() << c.expected;
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(dir / "bad.pt"), std::string::npos) << e.what();
    }
  }
}

// The bytes of a checkpoint whose payload went through `edit`, framed (length, CRC) as if valid.
std::string Reframed(const std::string& good, const std::function<void(c10::impl::GenericDict&)>& edit) {
  constexpr size_t kHeader = 12 + 4 + 8;  // magic, version, payload length
  uint64_t length = 0;
  std::memcpy(&length, good.data() + 16, sizeof length);
  c10::IValue root = torch::pickle_load(std::vector<char>(good.data() + kHeader, good.data() + kHeader + length));
  auto dict = root.toGenericDict();
  edit(dict);
  const std::vector<char> payload = torch::pickle_save(dict);
  std::string out = good.substr(0, 16);
  const uint64_t new_length = payload.size();
  out.append(reinterpret_cast<const char*>(&new_length), sizeof new_length);
  out.append(payload.data(), payload.size());
  const uint32_t crc = kubecnn::data::MaskCrc(kubecnn::data::Crc32c(payload.data(), payload.size()));
  out.append(reinterpret_cast<const char*>(&crc), sizeof crc);
  return out;
}

TEST(Checkpoint, AMissingOrMistypedFieldIsACheckpointErrorNamingTheFile) {
  ScratchDir dir;
  SaveCheckpoint(dir / "c.pt", Sample(1));
  const std::string good = ReadFile(dir / "c.pt");
  for (const auto& edit : std::vector<std::function<void(c10::impl::GenericDict&)>>{
           [](c10::impl::GenericDict& d) { d.erase("step"); },
           [](c10::impl::GenericDict& d) { d.insert_or_assign("epoch", std::string("three")); }}) {
    WriteFile(dir / "bad.pt", Reframed(good, edit));
    try {
      LoadCheckpoint(dir / "bad.pt");
      FAIL() << "a damaged field was accepted";
    } catch (const CheckpointError& e) {  // a PermanentError: the trainer exits 2, the job fails at once
      EXPECT_NE(std::string(e.what()).find(dir / "bad.pt"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("missing or has the wrong type"), std::string::npos) << e.what();
    }
  }
}

// The binary as the operator runs it: resuming from a checkpoint without the loss scaler's state
// exits 2 (do not restart) and names the file, where it used to exit 1 with "map::at".
TEST(Checkpoint, ResumingFromOneWithoutLossScalerStateExitsTwoNamingTheFile) {
  ScratchDir dir;
  const std::string trainer = std::string(KUBECNN_BINARY_DIR) + "/trainer/kubecnn-trainer";
  const std::string flags = " --model=tiny --image_size=32 --batch_size=4 --num_classes=10 --log_dir=" + dir.path();
  ASSERT_EQ(std::system((trainer + flags + " --num_batches=2 >/dev/null 2>&1").c_str()), 0);
  const std::string path = dir / CheckpointFileName(2);
  Checkpoint c = LoadCheckpoint(path);
  c.scalars.clear();
  SaveCheckpoint(path, c);
  const std::string log = dir / "resume.log";
  const int status = std::system((trainer + flags + " --num_batches=4 >" + log + " 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << ReadFile(log);
  EXPECT_NE(ReadFile(log).find(path), std::string::npos) << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("loss_scale"), std::string::npos) << ReadFile(log);
}

TEST(Checkpoint, SigkillDuringSaveNeverDamagesTheLastGoodCheckpoint) {
  ScratchDir dir;
  SaveCheckpoint(dir / CheckpointFileName(100), Sample(100));
  for (int round = 0; round < 5; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Save ever larger checkpoints over a newer name until killed.
      for (int64_t i = 0;; ++i) SaveCheckpoint(dir / CheckpointFileName(200 + round), Sample(200, 2'000'000));
      _exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + 37 * round));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // Whatever the kill interrupted, every complete-looking checkpoint loads, and the newest is usable.
    for (const std::string& path : ListCheckpoints(dir.path())) EXPECT_NO_THROW(LoadCheckpoint(path)) << path;
    const auto newest = NewestCheckpoint(dir.path());
    ASSERT_TRUE(newest.has_value());
    EXPECT_NO_THROW(LoadCheckpoint(*newest));
  }
  EXPECT_NO_THROW(LoadCheckpoint(dir / CheckpointFileName(100)));
}

TEST(Checkpoint, IncompatibilitySaysWhatDiffers) {
  const RunConfig saved{"resnet50", 1000, 224, 8, 256};
  EXPECT_EQ(Incompatibility(saved, saved), "");
  RunConfig now = saved;
  now.model = "resnet18";
  now.world_size = 4;
  EXPECT_EQ(Incompatibility(saved, now),
            "--model was resnet50, this run has resnet18; world size was 8, this run has 4");
}

TEST(CheckpointFiles, NamesSortByStepAndIgnoreOtherFiles) {
  EXPECT_EQ(CheckpointFileName(12000), "model.ckpt-000012000.pt");
  EXPECT_EQ(ParseCheckpointFileName("model.ckpt-000012000.pt"), 12000);
  EXPECT_EQ(ParseCheckpointFileName("model.ckpt-1234567890.pt"), 1234567890);  // beyond 9 digits still parses
  EXPECT_FALSE(ParseCheckpointFileName("model.ckpt-000012000.pt.partial"));
  EXPECT_FALSE(ParseCheckpointFileName("model.ckpt-.pt"));
  EXPECT_FALSE(ParseCheckpointFileName("events.out.tfevents.1.host"));
  EXPECT_EQ(SortCheckpoints({"model.ckpt-1234567890.pt", "x", "model.ckpt-000000005.pt"}),
            (std::vector<std::string>{"model.ckpt-000000005.pt", "model.ckpt-1234567890.pt"}));
}

TEST(CheckpointFiles, PruneKeepsTheNewest) {
  const std::vector<std::string> names = {CheckpointFileName(3), CheckpointFileName(1), CheckpointFileName(2),
                                          "eval.json"};
  EXPECT_EQ(CheckpointsToPrune(names, 2), (std::vector<std::string>{CheckpointFileName(1)}));
  EXPECT_TRUE(CheckpointsToPrune(names, 0).empty());
  EXPECT_TRUE(CheckpointsToPrune(names, 5).empty());
  ScratchDir dir;
  for (const auto& n : names) WriteFile(dir / n, "x");
  PruneCheckpoints(dir.path(), 1);
  EXPECT_EQ(ListCheckpoints(dir.path()), (std::vector<std::string>{dir / CheckpointFileName(3)}));
  EXPECT_TRUE(kubecnn::testing::Exists(dir / "eval.json"));
  EXPECT_FALSE(NewestCheckpoint(dir / "absent").has_value());
}

}  // namespace
}  // namespace kubecnn::checkpoint

// kubecnn-trainer under a real `mpirun -np 2`: distributed evaluation counts every record once,
// a SIGKILLed or hung rank stops the job within a bounded time naming the missing rank, and the
// same command then resumes from the last checkpoint.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/photo_shards.h"
#include "tests/support/process.h"
#include "tests/support/test_files.h"

namespace {

using Clock = std::chrono::steady_clock;
using kubecnn::testing::ReadFile;
using kubecnn::testing::ScratchDir;

const std::string kTrainer = std::string(KUBECNN_BINARY_DIR) + "/trainer/kubecnn-trainer";

// Under mpirun as root, with one OpenMP thread per rank on the 2-core machines.
const std::vector<std::string> kRankEnv = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                           "OMP_NUM_THREADS=1"};

// A run of the trainer or of mpirun, its output in `log`.
class Process : public kubecnn::testing::Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log)
      : kubecnn::testing::Process(argv, log, kRankEnv) {}
};

std::vector<std::string> Mpirun(int ranks, std::vector<std::string> trainer_args) {
  std::vector<std::string> argv = {"mpirun", "-np",   std::to_string(ranks), "--oversubscribe", "--bind-to",
                                   "none",   kTrainer};
  argv.insert(argv.end(), trainer_args.begin(), trainer_args.end());
  return argv;
}

// The pid of the trainer process of `rank` whose command line mentions `marker`.
std::optional<pid_t> FindRank(int rank, const std::string& marker) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline, environ;
    try {
      cmdline = ReadFile(entry.path() / "cmdline");
      environ = ReadFile(entry.path() / "environ");
    } catch (...) {
      continue;
    }
    if (cmdline.rfind(kTrainer, 0) != 0 || cmdline.find(marker) == std::string::npos) continue;
    if (environ.find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') != std::string::npos) {
      return static_cast<pid_t>(std::stoi(name));
    }
  }
  return std::nullopt;
}

// Waits until `dir` holds a checkpoint of at least `min_step` (older ones get pruned, so any will do).
bool WaitForCheckpoint(const std::string& dir, int64_t min_step, std::chrono::seconds limit) {
  const std::regex name("model\\.ckpt-([0-9]+)\\.pt");
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::smatch m;
      const std::string file = entry.path().filename();
      if (std::regex_match(file, m, name) && std::stoll(m[1]) >= min_step) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Waits until the process output contains `text`.
bool WaitForOutput(const Process& p, const std::string& text, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (p.output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::vector<std::string> TrainArgs(const std::string& log_dir, int steps) {
  return {"--model=tiny",
          "--image_size=48",
          "--batch_size=16",
          "--num_classes=10",
          "--num_batches=" + std::to_string(steps),
          "--log_dir=" + log_dir,
          "--save_interval=0",
          "--display_every=10",
          "--num_data_threads=1",
          "--lr_schedule=constant"};
}

TEST(DistributedTraining, EvaluationOverTwoRanksCountsExactlyWhatOneRankCounts) {
  ScratchDir data, logs;
  KUBECNN_SKIP_IF(!kubecnn::testing::WritePhotoShards(data.path(), 27, 3, 4), "testdata photos not present");
  Process train({kTrainer, "--model=tiny", "--image_size=32", "--batch_size=4", "--num_classes=4", "--num_batches=6",
                 "--data_dir=" + data.path(), "--log_dir=" + logs.path()},
                logs / "train.log");
  ASSERT_EQ(train.Wait(std::chrono::seconds(120)), 0) << train.output();

  const std::vector<std::string> eval = {"--eval", "--data_dir=" + data.path(), "--log_dir=" + logs.path(),
                                         "--batch_size=5"};
  std::vector<std::string> single = {kTrainer};
  single.insert(single.end(), eval.begin(), eval.end());
  Process one(single, logs / "eval1.log");
  ASSERT_EQ(one.Wait(std::chrono::seconds(120)), 0) << one.output();
  const std::string one_json = ReadFile(logs / "eval-6.json");
  std::filesystem::remove(logs / "eval-6.json");

  Process two(Mpirun(2, eval), logs / "eval2.log");
  ASSERT_EQ(two.Wait(std::chrono::seconds(120)), 0) << two.output();
  const std::string two_json = ReadFile(logs / "eval-6.json");
  EXPECT_EQ(nlohmann::json::parse(one_json).at("images"), 27) << one_json;  // 27 = 13 + 14: no tail dropped
  EXPECT_EQ(one_json, two_json);
}

TEST(DistributedTraining, KilledRankStopsTheJobAndTheSameCommandResumes) {
  ScratchDir logs;
  const std::vector<std::string> argv = Mpirun(2, TrainArgs(logs.path(), 3000));
  Process job(argv, logs / "run1.log");
  ASSERT_TRUE(WaitForCheckpoint(logs.path(), 5, std::chrono::seconds(120))) << job.output();
  const auto victim = FindRank(1, logs.path());
  ASSERT_TRUE(victim.has_value()) << "rank 1's process not found";
  const auto killed_at = Clock::now();
  kill(*victim, SIGKILL);
  const auto code = job.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "the job still ran 60 s after rank 1 was killed\n" << job.output();
  EXPECT_NE(*code, 0) << job.output();
  EXPECT_LT(Clock::now() - killed_at, std::chrono::seconds(60));

  // The same command resumes from the newest checkpoint instead of starting over.
  Process again(argv, logs / "run2.log");
  const bool resumed = WaitForOutput(again, "resuming from", std::chrono::seconds(60));
  // ... and trains on from there: a checkpoint of a later step (one waited for step 10's log line,
  // which never comes when the first run had got past step 10 before the kill, as under load).
  EXPECT_TRUE(WaitForOutput(again, "Checkpoint written to", std::chrono::seconds(60)) || !resumed) << again.output();
  kill(again.pid(), SIGTERM);
  again.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(resumed) << again.output();
  EXPECT_TRUE(
      std::regex_search(again.output(), std::regex("resuming from .*model\\.ckpt-0+[1-9][0-9]*\\.pt at step [1-9]")))
      << again.output();
}

TEST(DistributedTraining, HungRankMakesTheOthersExitNamingItWithinTheCollectiveTimeout) {
  ScratchDir logs;
  std::vector<std::string> args = TrainArgs(logs.path(), 3000);
  args.push_back("--collective_timeout=5");
  Process job(Mpirun(2, args), logs / "run.log");
  ASSERT_TRUE(WaitForCheckpoint(logs.path(), 3, std::chrono::seconds(120))) << job.output();
  const auto victim = FindRank(1, logs.path());
  ASSERT_TRUE(victim.has_value());
  const auto stopped_at = Clock::now();
  kill(*victim, SIGSTOP);  // alive but silent: only the timeout can notice
  const auto code = job.Wait(std::chrono::seconds(60));
  if (!code) kill(*victim, SIGKILL);
  ASSERT_TRUE(code.has_value()) << "no exit within 60 s of rank 1 hanging\n" << job.output();
  EXPECT_NE(*code, 0);
  EXPECT_LT(Clock::now() - stopped_at, std::chrono::seconds(30));
  // Stopped before or inside a collective: either way rank 0 names rank 1.
  const std::string out = job.output();
  EXPECT_TRUE(out.find("rank 0: MPI all-reduce") != std::string::npos &&
              (out.find("rank(s) 1 (last at collective") != std::string::npos ||
               out.find("rank(s) 1 (silent for") != std::string::npos))
      << out;
}

}  // namespace

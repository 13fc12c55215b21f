// The kubecnn-trainer binary as users run it: exit codes (0 done, 2 bad input, 1 internal), that
// every refusal says what was wrong on stderr, and /metrics served on 0.0.0.0 as the operator asks.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/http_get.h"
#include "tests/support/process.h"
#include "tests/support/rude_clients.h"
#include "tests/support/test_files.h"

namespace {

using Outcome = kubecnn::testing::CommandOutcome;

Outcome RunTrainer(const std::string& args) {
  return kubecnn::testing::RunCommand(std::string(KUBECNN_BINARY_DIR) + "/trainer/kubecnn-trainer " + args);
}

void ExpectRefused(const Outcome& o, const std::string& says) {
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_NE(o.output.find(says), std::string::npos) << "expected \"" << says << "\" in:\n" << o.output;
}

TEST(TrainerBinary, UnknownFlagExitsTwoNamingTheFlag) {
  ExpectRefused(RunTrainer("--model=tiny --bogus_flag=3"), "--bogus_flag");
}

TEST(TrainerBinary, BadValueExitsTwoNamingTheFlagAndValue) {
  ExpectRefused(RunTrainer("--model=tiny --batch_size=many"), "--batch_size");
}

TEST(TrainerBinary, UnknownModelExitsTwoAndListsTheKnownOnes) {
  ExpectRefused(RunTrainer("--model=resnet51 --num_batches=1"), "resnet50");
}

TEST(TrainerBinary, MissingDataDirectoryExitsTwoNamingIt) {
  kubecnn::testing::ScratchDir dir;
  ExpectRefused(RunTrainer("--model=tiny --data_dir=" + dir / "nowhere" + " --num_epochs=1"), dir / "nowhere");
}

TEST(TrainerBinary, EvalWithoutDataExitsTwoSayingWhatItNeeds) {
  kubecnn::testing::ScratchDir dir;
  ExpectRefused(RunTrainer("--model=tiny --eval --log_dir=" + dir.path()), "--eval needs --data_dir");
}

TEST(TrainerBinary, ConfigurationErrorsExitTwoBeforeAnyWork) {
  // Each is refused by the flag parser or the run plan: before the model is built or a step taken
  // (the "Model:" header comes after the plan).
  const std::vector<std::pair<std::string, std::string>> table = {
      {"--model=tiny --image_size=32 --num_epochs=1", "synthetic data has no epochs"},
      {"--model=tiny --image_size=32 --num_batches=10 '--lr_schedule=poly;warmup_steps=20'", "--lr_schedule="},
      {"--model=tiny --image_size=32 --lr_schedule=sideways", "--lr_schedule"},
      {"--model=tiny --image_size=32 --loss_scale=dynamic:0.5", "--loss_scale"},
      {"--model=tiny --image_size=32 --optimizer=adam", "--optimizer=adam"},
      {"--model=resnet18 --aux_logits --num_batches=1", "no auxiliary heads"},
  };
  for (const auto& [args, says] : table) {
    SCOPED_TRACE(args);
    const Outcome o = RunTrainer(args);
    ExpectRefused(o, says);
    EXPECT_EQ(o.output.find("Model:"), std::string::npos) << o.output;
  }
}

TEST(TrainerBinary, Fp16OnCpuTrainsInFp32WithAWarning) {
  const Outcome o = RunTrainer("bench --model=tiny --image_size=32 --batch_size=8 --num_batches=3 --fp16");
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("fp32"), std::string::npos) << o.output;
}

TEST(TrainerBinary, ListModelsPrintsTheCatalogue) {
  const Outcome o = RunTrainer("--list_models");
  EXPECT_EQ(o.exit_code, 0) << o.output;
  for (const char* name : {"resnet50", "inception3", "vgg16_bn", "alexnet", "resnext101_32x8d"}) {
    EXPECT_NE(o.output.find(name), std::string::npos) << name << " missing from:\n" << o.output;
  }
}

TEST(TrainerBinary, UnknownSubcommandLikeWordExitsTwo) { ExpectRefused(RunTrainer("trian --model=tiny"), "trian"); }

// The binary links LibTorch's CUDA libraries (libcublasLt carries ~92 KiB of static TLS), which
// once left prometheus-cpp's 100 KiB civetweb threads no stack: every --metrics_port failed at
// start-up. This runs the trainer as the operator does (--metrics_port: every address, IPv6 and
// IPv4) and scrapes it over both.
TEST(TrainerBinary, ServesMetricsOnAllInterfacesWhileTraining) {
  const int port = kubecnn::testing::FreePort();
  ASSERT_GT(port, 0);
  kubecnn::testing::ScratchDir dir;
  kubecnn::testing::Process trainer(
      {std::string(KUBECNN_BINARY_DIR) + "/trainer/kubecnn-trainer", "--model=tiny", "--image_size=32",
       "--batch_size=4", "--num_batches=1000000", "--display_every=1000", "--metrics_port=" + std::to_string(port)},
      dir / "trainer.log");
  const auto scraped =
      kubecnn::testing::GetWhileRunning(trainer, port, "/metrics", "kubecnn_train_step{", std::chrono::seconds(120));
  ASSERT_TRUE(scraped) << "the trainer served no metrics:\n" << trainer.output();
  const kubecnn::testing::HttpResponse& scrape = *scraped;
  const kubecnn::testing::HttpResponse elsewhere = kubecnn::testing::HttpGet(port, "/nothing-here");
  EXPECT_NE(scrape.body.find("# TYPE kubecnn_train_step gauge"), std::string::npos) << scrape.body;
  EXPECT_NE(scrape.body.find("kubecnn_data_"), std::string::npos) << scrape.body;
  EXPECT_EQ(elsewhere.status, 404);
  const auto over_ipv6 = kubecnn::testing::HttpGetWithin("::1", port, "/metrics", std::chrono::seconds(5));
  EXPECT_EQ(over_ipv6.status, 200) << over_ipv6.body;
  EXPECT_NE(over_ipv6.body.find("kubecnn_train_step{"), std::string::npos);
}

}  // namespace

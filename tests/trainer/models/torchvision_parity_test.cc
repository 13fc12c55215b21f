// Parity with torchvision, checked against the torchvision installed beside LibTorch: state-dict
// names and shapes, logits from loaded weights, and seeded initialisation. Each test runs
// torchvision_reference.py once and skips when that Python or torchvision is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tests/support/photo_shards.h"
#include "tests/support/test_files.h"
#include "trainer/models/model_registry.h"
#include "trainer/models/state_dict.h"

namespace kubecnn::models {
namespace {

constexpr int kPythonUnavailable = 77;  // torchvision_reference.py's exit code when imports fail

// Runs the reference script with `args`; returns its exit status (kPythonUnavailable when the
// interpreter itself is missing).
int RunReference(const std::string& args) {
  if (!std::filesystem::exists(KUBECNN_PYTHON)) return kPythonUnavailable;
  const std::string command =
      std::string("'") + KUBECNN_PYTHON + "' '" + KUBECNN_TORCHVISION_REFERENCE + "' " + args + " 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define RUN_REFERENCE_OR_SKIP(args)                                                    \
  do {                                                                                 \
    const int rc = RunReference(args);                                                 \
    KUBECNN_SKIP_IF(rc == kPythonUnavailable, "no torchvision at " << KUBECNN_PYTHON); \
    ASSERT_EQ(rc, 0) << "torchvision_reference.py " << (args) << " failed";            \
  } while (0)

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "inception3+aux" -> inception3 with aux heads.
std::shared_ptr<Model> Create(const std::string& key, bool init_weights = true) {
  const auto plus = key.find('+');
  return CreateModel(
      {.name = key.substr(0, plus), .aux_logits = plus != std::string::npos, .init_weights = init_weights});
}

TEST(TorchvisionParity, StateDictNamesShapesAndOrderMatch) {
  const std::vector<std::string> models = {"resnet50",        "inception3+aux", "vgg16_bn", "googlenet+aux",
                                           "resnext50_32x4d", "alexnet",        "googlenet"};
  testing::ScratchDir dir;
  std::string args = "shapes '" + dir.path() + "'";
  for (const auto& m : models) args += " " + m;
  RUN_REFERENCE_OR_SKIP(args);
  for (const auto& key : models) {
    const std::vector<std::string> expected = Lines(testing::ReadFile(dir / (key + ".txt")));
    const std::vector<std::string> actual = Lines(FormatStateDict(StateDict(*Create(key, /*init_weights=*/false))));
    EXPECT_EQ(actual.size(), expected.size()) << key;
    for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
      if (actual[i] != expected[i]) {
        ADD_FAILURE() << key << ": entry " << i << " is '" << actual[i] << "', torchvision has '" << expected[i] << "'";
        break;
      }
    }
  }
}

// Weights saved by torchvision with torch.save(model.state_dict()) — as --init_checkpoint and
// `--eval --init_checkpoint` read them — give torchvision's eval-mode logits (BatchNorm running
// statistics included) to within 1e-4 + 1e-4 * |logit| in fp32.
struct LogitsCase {
  const char* model;  // kubecnn name, "+aux" for the auxiliary head
  int size;           // input side
};

class TorchvisionLogits : public ::testing::TestWithParam<LogitsCase> {};

TEST_P(TorchvisionLogits, LoadedWeightsGiveTorchvisionsLogits) {
  const LogitsCase c = GetParam();
  testing::ScratchDir dir;
  RUN_REFERENCE_OR_SKIP(std::string("logits ") + c.model + " " + std::to_string(c.size) + " '" + dir.path() + "'");
  const NamedTensors io = ReadStateDictFile(dir / (std::string(c.model) + "_io.pt"));
  ASSERT_EQ(io.size(), 2u);
  ASSERT_EQ(io[0].first, "images");
  const torch::Tensor& images = io[0].second;
  const torch::Tensor& expected = io[1].second;
  // torch.save(model.state_dict()) writes an OrderedDict; torch.save(dict(...)) a plain dict.
  for (const std::string form : {"_ordereddict.pt", "_dict.pt"}) {
    SCOPED_TRACE(std::string(c.model) + form);
    torch::manual_seed(99);
    const auto model = Create(c.model, /*init_weights=*/false);
    const LoadReport report = LoadTorchvisionStateDict(*model, dir / (std::string(c.model) + form));
    EXPECT_TRUE(report.kept_initial.empty()) << report.kept_initial.size() << " tensors were not in the file";
    EXPECT_EQ(report.loaded, static_cast<int64_t>(StateDict(*model).size()));
    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = model->Forward(images).logits;
    ASSERT_EQ(logits.sizes(), expected.sizes());
    const double max_diff = (logits - expected).abs().max().item<double>();
    EXPECT_TRUE(torch::allclose(logits, expected, /*rtol=*/1e-4, /*atol=*/1e-4)) << "max |diff| " << max_diff;
    std::printf("%s%s: max |logit - torchvision| = %.3g (logits up to %.3g)\n", c.model, form.c_str(), max_diff,
                expected.abs().max().item<double>());
  }
}

// The binary scores torchvision weights as users have them: `--eval --model --init_checkpoint`
// without a --log_dir (printed), with one (eval-0.json written), and `infer` classifies with them.
TEST(TorchvisionParity, TrainerEvaluatesAndInfersWithTorchvisionWeightsDirectly) {
  testing::ScratchDir dir;
  RUN_REFERENCE_OR_SKIP("logits resnet18 64 '" + dir.path() + "'");
  std::filesystem::create_directories(dir / "data");
  KUBECNN_SKIP_IF(!testing::WritePhotoShards(dir / "data", 12, 2, 3), "testdata photos not present");
  const std::string trainer = std::string(KUBECNN_BINARY_DIR) + "/trainer/kubecnn-trainer";
  const std::string weights = dir / "resnet18_ordereddict.pt";
  const std::string eval = trainer + " --eval --model=resnet18 --init_checkpoint=" + weights +
                           " --data_dir=" + dir / "data" + " --batch_size=4 --image_size=64";
  const auto run = [&](const std::string& command, const std::string& log) {
    const int status = std::system((command + " >" + log + " 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run(eval, dir / "eval.log"), 0) << testing::ReadFile(dir / "eval.log");
  EXPECT_NE(testing::ReadFile(dir / "eval.log").find("Evaluated " + weights + " at step 0 on 12 images"),
            std::string::npos)
      << testing::ReadFile(dir / "eval.log");
  ASSERT_EQ(run(eval + " --log_dir=" + dir / "logs", dir / "eval2.log"), 0) << testing::ReadFile(dir / "eval2.log");
  const std::string written = testing::ReadFile(dir / "logs/eval-0.json");
  EXPECT_NE(written.find("\"checkpoint\":\"" + weights + "\""), std::string::npos) << written;
  EXPECT_NE(written.find("\"images\":12"), std::string::npos) << written;

  const std::vector<std::string> photos = testing::ListFiles(testing::TestdataPath("jpeg-imagenet-samples"), ".JPEG");
  ASSERT_FALSE(photos.empty());
  const std::string infer = trainer + " infer --model=resnet18 --init_checkpoint=" + weights + " " + photos[0];
  ASSERT_EQ(run(infer, dir / "infer.log"), 0) << testing::ReadFile(dir / "infer.log");
  EXPECT_NE(testing::ReadFile(dir / "infer.log").find("1. "), std::string::npos)
      << testing::ReadFile(dir / "infer.log");
}

INSTANTIATE_TEST_SUITE_P(Models, TorchvisionLogits,
                         ::testing::Values(LogitsCase{"resnet18", 112}, LogitsCase{"resnet50", 112},
                                           LogitsCase{"inception3+aux", 299}),
                         [](const ::testing::TestParamInfo<LogitsCase>& info) {
                           std::string name = info.param.model;
                           return name.substr(0, name.find('+'));
                         });

// Same seed, same construction order, same draws: the weights equal torchvision's bit for bit.
TEST(TorchvisionParity, SeededInitialisationEqualsTorchvisions) {
  // resnet18: kaiming normal (fan_out); inception3+aux: truncated normal with its per-layer quirks
  // and default-initialised biases (googlenet uses the same code path).
  const std::vector<std::string> models = {"resnet18", "inception3+aux"};
  testing::ScratchDir dir;
  std::string args = "init 5 '" + dir.path() + "'";
  for (const auto& m : models) args += " " + m;
  RUN_REFERENCE_OR_SKIP(args);
  for (const auto& key : models) {
    const NamedTensors expected = ReadStateDictFile(dir / (key + ".pt"));
    torch::manual_seed(5);
    const NamedTensors actual = StateDict(*Create(key));
    ASSERT_EQ(actual.size(), expected.size()) << key;
    int differing = 0;
    for (size_t i = 0; i < actual.size(); ++i) {
      ASSERT_EQ(actual[i].first, expected[i].first) << key;
      if (!torch::equal(actual[i].second, expected[i].second) && differing++ < 3) {
        ADD_FAILURE() << key << ": " << actual[i].first << " differs from torchvision's, max |diff| "
                      << (actual[i].second - expected[i].second).abs().max().item<double>();
      }
    }
  }
}

}  // namespace
}  // namespace kubecnn::models

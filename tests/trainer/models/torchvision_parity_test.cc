// Parity with torchvision, checked against the torchvision installed beside LibTorch: state-dict
// names and shapes, logits from loaded weights, and seeded initialisation. Each test runs
// torchvision_reference.py once and skips when that Python or torchvision is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

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

TEST(TorchvisionParity, LoadedResNet18GivesTorchvisionsLogits) {
  testing::ScratchDir dir;
  RUN_REFERENCE_OR_SKIP("resnet18 '" + dir.path() + "'");
  const NamedTensors io = ReadStateDictFile(dir / "resnet18_io.pt");
  ASSERT_EQ(io.size(), 2u);
  ASSERT_EQ(io[0].first, "images");
  const torch::Tensor& images = io[0].second;
  const torch::Tensor& expected = io[1].second;
  // torch.save(model.state_dict()) writes an OrderedDict; torch.save(dict(...)) a plain dict.
  for (const std::string file : {"resnet18_ordereddict.pt", "resnet18_dict.pt"}) {
    SCOPED_TRACE(file);
    torch::manual_seed(99);
    const auto model = CreateModel({.name = "resnet18"});
    const LoadReport report = LoadTorchvisionStateDict(*model, dir / file);
    EXPECT_EQ(report.loaded, 122);
    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = model->Forward(images).logits;
    ASSERT_EQ(logits.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(logits, expected, /*rtol=*/0, /*atol=*/1e-4))
        << "max |diff| " << (logits - expected).abs().max().item<double>();
  }
}

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

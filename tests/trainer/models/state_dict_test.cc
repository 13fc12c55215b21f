// State dicts: PyTorch ordering, summaries, and loading with the errors a user can act on.
#include "trainer/models/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/support/test_files.h"
#include "tests/trainer/models/pickle_bytes.h"
#include "trainer/models/model_registry.h"

namespace kubecnn::models {
namespace {

std::shared_ptr<Model> Tiny(uint64_t seed, int64_t num_classes = 10) {
  torch::manual_seed(seed);
  return CreateModel({.name = "tiny", .num_classes = num_classes});
}

// Writes `tensors` the way torch.save(dict(sd), f) does (zip archive with data.pkl).
void SaveDict(const NamedTensors& tensors, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  const std::vector<char> bytes = torch::pickle_save(torch::IValue(dict));
  testing::WriteFile(path, std::string(bytes.begin(), bytes.end()));
}

bool SameWeights(const torch::nn::Module& a, const torch::nn::Module& b) {
  const NamedTensors x = StateDict(a), y = StateDict(b);
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].first != y[i].first || !torch::equal(x[i].second, y[i].second)) return false;
  }
  return true;
}

std::string LoadError(Model& model, const NamedTensors& tensors, const LoadOptions& options = {}) {
  try {
    LoadStateDict(model, tensors, options);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

NamedTensors Without(NamedTensors tensors, const std::string& name) {
  std::erase_if(tensors, [&](const auto& e) { return e.first == name; });
  return tensors;
}

TEST(StateDict, ListsEachModulesParametersBeforeItsBuffersInRegistrationOrder) {
  const std::string expected =
      "features.0.weight\t8,3,3,3\n"
      "features.1.weight\t8\nfeatures.1.bias\t8\nfeatures.1.running_mean\t8\nfeatures.1.running_var\t8\n"
      "features.1.num_batches_tracked\t\n"
      "features.3.weight\t16,8,3,3\n"
      "features.4.weight\t16\nfeatures.4.bias\t16\nfeatures.4.running_mean\t16\nfeatures.4.running_var\t16\n"
      "features.4.num_batches_tracked\t\n"
      "features.6.weight\t32,16,3,3\n"
      "features.7.weight\t32\nfeatures.7.bias\t32\nfeatures.7.running_mean\t32\nfeatures.7.running_var\t32\n"
      "features.7.num_batches_tracked\t\n"
      "fc.weight\t10,32\nfc.bias\t10\n";
  EXPECT_EQ(FormatStateDict(StateDict(*Tiny(0))), expected);
}

TEST(StateDict, SummaryCountsParametersBuffersAndBytes) {
  const StateDictSummary s = SummarizeStateDict(*Tiny(0));
  EXPECT_EQ(s.num_tensors, 20);
  EXPECT_EQ(s.parameter_elements, 216 + 16 + 1152 + 32 + 4608 + 64 + 330);
  EXPECT_EQ(s.buffer_elements, 2 * (8 + 16 + 32) + 3);
  EXPECT_EQ(s.bytes, 4 * (s.parameter_elements + 2 * (8 + 16 + 32)) + 8 * 3);
}

TEST(StateDictLoad, RoundTripsThroughAFileInTorchSaveFormat) {
  testing::ScratchDir dir;
  const auto source = Tiny(1);
  SaveDict(StateDict(*source), dir / "tiny.pt");
  const auto target = Tiny(2);
  ASSERT_FALSE(SameWeights(*source, *target));
  const LoadReport report = LoadTorchvisionStateDict(*target, dir / "tiny.pt");
  EXPECT_EQ(report.loaded, 20);
  EXPECT_TRUE(report.kept_initial.empty());
  EXPECT_TRUE(report.ignored.empty());
  EXPECT_TRUE(SameWeights(*source, *target));
}

TEST(StateDictLoad, ReadsCheckpointDictsAndStripsDistributedDataParallelPrefix) {
  testing::ScratchDir dir;
  const auto source = Tiny(1);
  c10::Dict<std::string, torch::Tensor> weights;
  for (const auto& [name, t] : StateDict(*source)) weights.insert("module." + name, t);
  c10::Dict<std::string, c10::Dict<std::string, torch::Tensor>> checkpoint;
  checkpoint.insert("state_dict", weights);
  const std::vector<char> bytes = torch::pickle_save(torch::IValue(checkpoint));
  testing::WriteFile(dir / "ckpt.pt", std::string(bytes.begin(), bytes.end()));

  const NamedTensors read = ReadStateDictFile(dir / "ckpt.pt");
  ASSERT_EQ(read.size(), 20u);
  EXPECT_EQ(read.front().first, "features.0.weight");
  const auto target = Tiny(2);
  LoadStateDict(*target, read);
  EXPECT_TRUE(SameWeights(*source, *target));
}

TEST(StateDictLoad, ShapeMismatchNamesTensorsAndShapesAndSuggestsSkipClassifier) {
  const auto model = Tiny(0, /*num_classes=*/5);
  const std::string error = LoadError(*model, StateDict(*Tiny(1, 10)));
  EXPECT_NE(error.find("2 shape mismatch"), std::string::npos) << error;
  EXPECT_NE(error.find("fc.weight (file [10, 32], model [5, 32])"), std::string::npos) << error;
  EXPECT_NE(error.find("fc.bias (file [10], model [5])"), std::string::npos) << error;
  EXPECT_NE(error.find("skip_classifier"), std::string::npos) << error;
}

TEST(StateDictLoad, SkipClassifierLoadsEverythingButTheClassifier) {
  const auto source = Tiny(1, 10);
  const auto model = Tiny(2, 5);
  const torch::Tensor fc_before = StateDict(*model).back().second.clone();
  const LoadReport report = LoadStateDict(*model, StateDict(*source), {.skip_classifier = true});
  EXPECT_EQ(report.loaded, 18);
  EXPECT_EQ(report.kept_initial, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_EQ(report.ignored, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_TRUE(torch::equal(StateDict(*model).back().second, fc_before));
  EXPECT_TRUE(torch::equal(StateDict(*model).front().second, StateDict(*source).front().second));
}

TEST(StateDictLoad, MissingAndUnexpectedEntriesAreNamed) {
  NamedTensors tensors = Without(StateDict(*Tiny(1)), "features.3.weight");
  tensors.emplace_back("features.9.weight", torch::zeros({3}));
  const std::string error = LoadError(*Tiny(2), tensors);
  EXPECT_NE(error.find("1 missing: features.3.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("1 unexpected: features.9.weight"), std::string::npos) << error;
}

TEST(StateDictLoad, FailedLoadLeavesTheModelUntouched) {
  const auto model = Tiny(2);
  const auto copy = Tiny(2);
  EXPECT_FALSE(LoadError(*model, Without(StateDict(*Tiny(1)), "fc.bias")).empty());
  EXPECT_TRUE(SameWeights(*model, *copy));
}

TEST(StateDictLoad, WeightsWithoutNumBatchesTrackedLoad) {
  // BatchNorm checkpoints from before PyTorch 0.4.1 have no num_batches_tracked.
  NamedTensors tensors = StateDict(*Tiny(1));
  std::erase_if(tensors, [](const auto& e) { return e.first.ends_with("num_batches_tracked"); });
  const LoadReport report = LoadStateDict(*Tiny(2), tensors);
  EXPECT_EQ(report.loaded, 17);
  EXPECT_EQ(report.kept_initial.size(), 3u);
}

TEST(StateDictLoad, AuxHeadsOfTheFileAreIgnoredOnlyWhenTolerated) {
  const auto with_aux = CreateModel({.name = "googlenet", .aux_logits = true});
  const auto without_aux = CreateModel({.name = "googlenet"});
  const LoadReport report = LoadStateDict(*without_aux, StateDict(*with_aux));
  EXPECT_EQ(report.ignored.size(), 20u);  // aux1 and aux2: conv + bn (6) + fc1, fc2 (4) each
  EXPECT_EQ(report.ignored.front(), "aux1.conv.conv.weight");
  const std::string error = LoadError(*without_aux, StateDict(*with_aux), {.tolerate_aux_heads = false});
  EXPECT_NE(error.find("20 unexpected: aux1.conv.conv.weight"), std::string::npos) << error;

  // The other way round the heads keep their initialisation.
  const LoadReport back = LoadStateDict(*with_aux, StateDict(*without_aux));
  EXPECT_EQ(back.kept_initial.size(), 20u);
}

TEST(StateDictFile, ReadsTheOrderedDictThatTorchSaveOfAStateDictWrites) {
  testing::ScratchDir dir;
  const std::string pickle = pickle_bytes::OrderedDictStateDictPickle("layer.weight", 2);
  const float values[2] = {1.5f, -2.0f};
  {
    caffe2::serialize::PyTorchStreamWriter writer(dir / "ordered.pt");
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeRecord("data/0", values, sizeof(values));
    writer.writeEndOfFile();
  }
  const NamedTensors read = ReadStateDictFile(dir / "ordered.pt");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].first, "layer.weight");
  EXPECT_TRUE(torch::equal(read[0].second, torch::tensor({1.5f, -2.0f})));
}

TEST(StateDictFile, MissingFileErrorNamesThePath) {
  try {
    LoadTorchvisionStateDict(*Tiny(0), "/nonexistent/resnet50.pth");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/resnet50.pth"), std::string::npos) << e.what();
  }
}

TEST(StateDictFile, NonZipFileErrorSaysHowToResave) {
  testing::ScratchDir dir;
  testing::WriteFile(dir / "legacy.pt", std::string("\x80\x02\x8a\x0alegacy", 10));
  try {
    ReadStateDictFile(dir / "legacy.pt");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dir / "legacy.pt"), std::string::npos) << what;
    EXPECT_NE(what.find("torch.save(dict(sd), f)"), std::string::npos) << what;
  }
}

TEST(StateDictFile, APickledTensorIsNotAStateDict) {
  testing::ScratchDir dir;
  const std::vector<char> bytes = torch::pickle_save(torch::IValue(torch::ones({2})));
  testing::WriteFile(dir / "tensor.pt", std::string(bytes.begin(), bytes.end()));
  EXPECT_THROW(ReadStateDictFile(dir / "tensor.pt"), std::runtime_error);
}

}  // namespace
}  // namespace kubecnn::models

// The model table: names, defaults, argument checks, parameter counts and seeded initialisation.
#include "trainer/models/model_registry.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "trainer/models/state_dict.h"

namespace kubecnn::models {
namespace {

// Parameter counts (sum of p.numel() over model.parameters(), num_classes=1000) as torchvision
// 0.26.0 reports them, obtained with /opt/kubecnn/venv/bin/python3:
//   sum(p.numel() for p in getattr(torchvision.models, name)(weights=None).parameters())
// with aux_logits=True/False passed for inception_v3 and googlenet. tiny/tiny_nobn have no
// torchvision twin: 3x3 convs 3->8->16->32 (BN, or biases) + fc 32->1000, counted by hand.
const std::map<std::string, int64_t>& TorchvisionParameterCounts() {
  static const std::map<std::string, int64_t> counts = {
      {"alexnet", 61'100'840},
      {"googlenet", 6'624'904},
      {"googlenet+aux", 13'004'888},
      {"inception3", 23'834'568},
      {"inception3+aux", 27'161'264},
      {"resnet18", 11'689'512},
      {"resnet34", 21'797'672},
      {"resnet50", 25'557'032},
      {"resnet101", 44'549'160},
      {"resnet152", 60'192'808},
      {"resnext50_32x4d", 25'028'904},
      {"resnext101_32x8d", 88'791'336},
      {"vgg11", 132'863'336},
      {"vgg11_bn", 132'868'840},
      {"vgg13", 133'047'848},
      {"vgg13_bn", 133'053'736},
      {"vgg16", 138'357'544},
      {"vgg16_bn", 138'365'992},
      {"vgg19", 143'667'240},
      {"vgg19_bn", 143'678'248},
      {"tiny", 216 + 16 + 1152 + 32 + 4608 + 64 + 32 * 1000 + 1000},
      {"tiny_nobn", 216 + 8 + 1152 + 16 + 4608 + 32 + 32 * 1000 + 1000},
  };
  return counts;
}

TEST(ModelRegistry, UnknownNameErrorListsEveryKnownModel) {
  try {
    CreateModel({.name = "resnet51"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown model 'resnet51'"), std::string::npos) << what;
    for (const ModelInfo& info : ListModels()) EXPECT_NE(what.find(info.name), std::string::npos) << info.name;
  }
  EXPECT_THROW(DefaultImageSize("resnet51"), std::invalid_argument);
  EXPECT_EQ(FindModel("resnet51"), nullptr);
}

TEST(ModelRegistry, ListsEveryFamilySortedWithImageSizeAndAuxHeads) {
  const auto& models = ListModels();
  ASSERT_EQ(models.size(), 20u);  // 7 resnets, 8 vggs, alexnet, googlenet, inception3, 2 tiny
  for (size_t i = 1; i < models.size(); ++i) EXPECT_LT(models[i - 1].name, models[i].name);
  for (const ModelInfo& info : models) {
    EXPECT_EQ(DefaultImageSize(info.name), info.default_image_size) << info.name;
    const bool aux = info.name == "inception3" || info.name == "googlenet";
    EXPECT_EQ(info.has_aux_heads, aux) << info.name;
    EXPECT_EQ(info.aux_loss_weights.size(), info.name == "googlenet" ? 2u : aux ? 1u : 0u) << info.name;
  }
  EXPECT_EQ(DefaultImageSize("inception3"), 299);
  EXPECT_EQ(DefaultImageSize("resnet50"), 224);
  EXPECT_EQ(FindModel("inception3")->torchvision_name, "inception_v3");
  EXPECT_FALSE(FindModel("tiny_nobn")->has_batch_norm);
  EXPECT_TRUE(FindModel("tiny")->has_batch_norm);
  EXPECT_FALSE(FindModel("vgg16")->has_batch_norm);
  EXPECT_TRUE(FindModel("vgg16_bn")->has_batch_norm);
}

TEST(ModelRegistry, RejectsAuxLogitsOnModelWithoutHeadsAndNonPositiveClasses) {
  EXPECT_THROW(CreateModel({.name = "resnet18", .aux_logits = true}), std::invalid_argument);
  EXPECT_THROW(CreateModel({.name = "tiny", .num_classes = 0}), std::invalid_argument);
}

TEST(ModelRegistry, ParameterTableCoversEveryModel) {
  for (const ModelInfo& info : ListModels()) {
    EXPECT_TRUE(TorchvisionParameterCounts().count(info.name)) << info.name;
    if (info.has_aux_heads) {
      EXPECT_TRUE(TorchvisionParameterCounts().count(info.name + "+aux")) << info.name;
    }
  }
}

// Split in four so that CTest can spread them over cores: even without torchvision's init
// (init_weights=false), building the VGGs draws about 1.1 billion random numbers.
std::string CountGroup(const std::string& key) {
  if (key.starts_with("res")) return "ResNets";
  if (key.starts_with("vgg")) return key.ends_with("_bn") ? "VggsWithBatchNorm" : "Vggs";
  return "Others";
}

class ParameterCount : public ::testing::TestWithParam<std::string> {};

TEST_P(ParameterCount, EqualsTorchvisions) {
  int checked = 0;
  for (const auto& [key, expected] : TorchvisionParameterCounts()) {
    if (CountGroup(key) != GetParam()) continue;
    const auto plus = key.find('+');
    const auto model =
        CreateModel({.name = key.substr(0, plus), .aux_logits = plus != std::string::npos, .init_weights = false});
    EXPECT_EQ(CountParameters(*model), expected) << key;
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

INSTANTIATE_TEST_SUITE_P(EveryModel, ParameterCount,
                         ::testing::Values("ResNets", "Vggs", "VggsWithBatchNorm", "Others"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(ModelParameters, NumClassesSetsClassifierWidth) {
  const auto model = CreateModel({.name = "resnet18", .num_classes = 10});
  EXPECT_EQ(CountParameters(*model), 11'689'512 - (1000 - 10) * (512 + 1));
  const NamedTensors sd = StateDict(*model);
  EXPECT_EQ(sd.back().first, "fc.bias");
  EXPECT_EQ(sd.back().second.size(0), 10);
}

TEST(ModelInit, SameSeedGivesSameWeightsAndAnotherSeedDifferent) {
  auto weights = [](const std::string& name, uint64_t seed) {
    torch::manual_seed(seed);
    return StateDict(*CreateModel({.name = name}));
  };
  for (const std::string name : {"tiny", "resnet18"}) {
    const NamedTensors a = weights(name, 7), b = weights(name, 7), c = weights(name, 8);
    ASSERT_EQ(a.size(), b.size());
    bool all_equal_to_c = true;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << name << " " << a[i].first;
      all_equal_to_c = all_equal_to_c && torch::equal(a[i].second, c[i].second);
    }
    EXPECT_FALSE(all_equal_to_c) << name;
  }
}

TEST(ModelInit, ResNetConvsAreKaimingNormalFanOutAndBatchNormIsOneZero) {
  torch::manual_seed(0);
  const auto model = CreateModel({.name = "resnet50"});
  for (const auto& [name, t] : StateDict(*model)) {
    if (name == "layer4.0.conv2.weight") {  // 512 x 512 x 3 x 3: std = sqrt(2 / (512 * 9))
      EXPECT_NEAR(t.std().item<double>(), std::sqrt(2.0 / (512 * 9)), 2e-4);
      EXPECT_NEAR(t.mean().item<double>(), 0.0, 2e-4);
    }
    if (name.ends_with("bn3.weight")) {
      EXPECT_TRUE(torch::all(t == 1).item<bool>()) << name;
    } else if (name.ends_with("bn3.bias")) {
      EXPECT_TRUE(torch::all(t == 0).item<bool>()) << name;
    }
  }
}

TEST(ModelInit, InitWeightsFalseKeepsLibTorchsDefaultUniformInit) {
  torch::manual_seed(0);
  const auto model = CreateModel({.name = "resnet18", .init_weights = false});
  for (const auto& [name, t] : StateDict(*model)) {
    if (name != "layer4.0.conv2.weight") continue;
    // kaiming_uniform_(a=sqrt(5)) bounds weights by 1/sqrt(fan_in); kaiming_normal_(fan_out) would
    // put about a third of them outside.
    EXPECT_LE(t.abs().max().item<double>(), 1.0 / std::sqrt(512.0 * 9));
  }
}

TEST(ModelInit, ZeroInitResidualZeroesTheLastBatchNormOfEachBlock) {
  for (const auto& [model_name, last_bn] : {std::pair{"resnet18", ".bn2.weight"}, {"resnet50", ".bn3.weight"}}) {
    const auto model = CreateModel({.name = model_name, .zero_init_residual = true});
    int zeroed = 0;
    for (const auto& [name, t] : StateDict(*model)) {
      const bool last = name.starts_with("layer") && name.ends_with(last_bn);
      EXPECT_EQ(torch::all(t == 0).item<bool>() && name.ends_with(".weight") && name.find("bn") != std::string::npos,
                last)
          << model_name << " " << name;
      zeroed += last;
    }
    EXPECT_EQ(zeroed, std::string(model_name) == "resnet18" ? 8 : 16) << model_name;
  }
}

}  // namespace
}  // namespace kubecnn::models

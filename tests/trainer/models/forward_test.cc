// Forward passes: output shapes at each model's default image size, aux heads by mode, backward.
#include <gtest/gtest.h>

#include "trainer/models/layers.h"
#include "trainer/models/model_registry.h"
#include "trainer/models/state_dict.h"

namespace kubecnn::models {
namespace {

torch::Tensor Images(const std::string& name, int64_t batch) {
  const int64_t size = DefaultImageSize(name);
  return torch::randn({batch, 3, size, size});
}

// Each family at its default size, batch 2, in eval mode without autograd to keep CPU time down.
// The deeper variants (resnet101/152, resnext101, vgg13-19) only repeat the blocks run here, and
// inception3 / googlenet run in the aux-head tests below.
class ForwardShape : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardShape, EvalLogitsAreBatchByClassesAtDefaultImageSize) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const std::string& name = GetParam();
  const auto model = CreateModel({.name = name, .num_classes = 17});
  model->eval();
  const ModelOutput out = model->Forward(Images(name, 2));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 17}));
  EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
  EXPECT_TRUE(out.aux_logits.empty());
}

INSTANTIATE_TEST_SUITE_P(Families, ForwardShape,
                         ::testing::Values("alexnet", "resnet18", "resnet50", "resnext50_32x4d", "vgg11_bn", "tiny",
                                           "tiny_nobn"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(ModelForward, Inception3AuxLogitsOnlyInTrainMode) {
  torch::NoGradGuard no_grad;
  const auto model = CreateModel({.name = "inception3", .num_classes = 5, .aux_logits = true});
  const torch::Tensor images = Images("inception3", 2);
  model->train();
  ModelOutput out = model->Forward(images);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5}));
  ASSERT_EQ(out.aux_logits.size(), 1u);
  EXPECT_EQ(out.aux_logits[0].sizes(), (std::vector<int64_t>{2, 5}));
  model->eval();
  out = model->Forward(images);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(out.aux_logits.empty());
}

TEST(ModelForward, GoogLeNetGivesBothAuxHeadsInTrainModeOnlyWhenBuilt) {
  torch::NoGradGuard no_grad;
  const torch::Tensor images = Images("googlenet", 2);
  const auto with_aux = CreateModel({.name = "googlenet", .num_classes = 5, .aux_logits = true});
  with_aux->train();
  ModelOutput out = with_aux->Forward(images);
  ASSERT_EQ(out.aux_logits.size(), 2u);
  for (const auto& aux : out.aux_logits) EXPECT_EQ(aux.sizes(), (std::vector<int64_t>{2, 5}));
  with_aux->eval();
  EXPECT_TRUE(with_aux->Forward(images).aux_logits.empty());

  const auto without_aux = CreateModel({.name = "googlenet", .num_classes = 5});
  without_aux->train();
  EXPECT_TRUE(without_aux->Forward(images).aux_logits.empty());
}

TEST(ModelForward, TinyModelsTrainWithGradientsForEveryParameter) {
  for (const std::string name : {"tiny", "tiny_nobn"}) {
    torch::manual_seed(3);
    const auto model = CreateModel({.name = name, .num_classes = 10});
    model->train();
    const torch::Tensor labels = torch::randint(0, 10, {4});
    const torch::Tensor loss = torch::cross_entropy_loss(model->Forward(Images(name, 4)).logits, labels);
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<double>())) << name;
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << name << " " << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << name << " " << p.key();
    }
    const StateDictSummary summary = SummarizeStateDict(*model);
    EXPECT_LT(summary.parameter_elements, 10'000) << name;  // "a few thousand parameters"
    if (name == "tiny_nobn") {
      EXPECT_EQ(summary.buffer_elements, 0) << "distributed tests need no BN buffers";
    }
  }
}

TEST(ModelForward, TransformInputMapsImageNetNormalisedPixelsToMinusOneOne) {
  // A pixel p in [0, 1], normalised with ImageNet's mean/std, comes out as (p - 0.5) / 0.5.
  const torch::Tensor p = torch::rand({1, 3, 4, 4});
  const torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const torch::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  const torch::Tensor out = TransformInputToTensorFlowScale((p - mean) / std);
  EXPECT_TRUE(torch::allclose(out, (p - 0.5) / 0.5, 1e-5, 1e-5));
}

}  // namespace
}  // namespace kubecnn::models

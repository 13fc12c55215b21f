// Unscaling gradients in place with the fused inf/NaN check, across dtypes and missing gradients.
#include "trainer/optim/unscale_grads.h"

#include <gtest/gtest.h>

#include <limits>

namespace kubecnn::optim {
namespace {

TEST(UnscaleGradients, DividesEveryGradientByTheScaleAndReportsFinite) {
  std::vector<torch::Tensor> grads = {torch::tensor({256.0f, -512.0f}), torch::tensor({128.0f}), torch::Tensor()};
  EXPECT_FALSE(UnscaleGradients(grads, 1.0 / 128));
  EXPECT_TRUE(torch::equal(grads[0], torch::tensor({2.0f, -4.0f})));
  EXPECT_TRUE(torch::equal(grads[1], torch::tensor({1.0f})));
}

TEST(UnscaleGradients, ReportsInfOrNanInAnyGradient) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float bad : {inf, -inf, nan}) {
    std::vector<torch::Tensor> grads = {torch::ones({3}), torch::tensor({1.0f, bad})};
    EXPECT_TRUE(UnscaleGradients(grads, 0.5)) << bad;
  }
}

TEST(UnscaleGradients, GroupsMixedDtypesAndChecksEachGroup) {
  std::vector<torch::Tensor> grads = {torch::full({2}, 8.0f), torch::full({2}, 8.0, torch::kFloat64)};
  EXPECT_FALSE(UnscaleGradients(grads, 0.25));
  EXPECT_TRUE(torch::equal(grads[0], torch::full({2}, 2.0f)));
  EXPECT_TRUE(torch::equal(grads[1], torch::full({2}, 2.0, torch::kFloat64)));
  grads[1][0] = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(UnscaleGradients(grads, 1.0));
}

TEST(UnscaleGradients, NoGradientsMeansNothingNonFinite) {
  EXPECT_FALSE(UnscaleGradients({}, 0.5));
  EXPECT_FALSE(UnscaleGradients({torch::Tensor()}, 0.5));
}

TEST(UnscaleGradients, WorksOnParameterGradients) {
  torch::Tensor w = torch::ones({2}).set_requires_grad(true);
  (w * 64.0).sum().backward();
  EXPECT_FALSE(UnscaleGradients(GradientsOf({w, torch::zeros({1})}), 1.0 / 64));
  EXPECT_TRUE(torch::equal(w.grad(), torch::ones({2})));
}

}  // namespace
}  // namespace kubecnn::optim

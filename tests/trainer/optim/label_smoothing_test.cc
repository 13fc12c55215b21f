// Label-smoothed cross-entropy: equal to torch's cross_entropy(label_smoothing=eps) in value and
// gradient, a hand-computed case, fp16 logits, and bad arguments.
#include "trainer/optim/label_smoothing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace kubecnn::optim {
namespace {

namespace F = torch::nn::functional;

TEST(LabelSmoothing, EqualsTorchCrossEntropyInValueAndGradient) {
  torch::manual_seed(3);
  for (double eps : {0.0, 0.1, 0.5, 1.0}) {
    const torch::Tensor base = torch::randn({16, 10}) * 3;
    const torch::Tensor labels = torch::randint(0, 10, {16}, torch::kInt64);
    torch::Tensor ours_in = base.clone().set_requires_grad(true);
    torch::Tensor ref_in = base.clone().set_requires_grad(true);
    const torch::Tensor ours = SmoothedCrossEntropy(ours_in, labels, eps);
    const torch::Tensor ref = F::cross_entropy(ref_in, labels, F::CrossEntropyFuncOptions().label_smoothing(eps));
    EXPECT_NEAR(ours.item<double>(), ref.item<double>(), 1e-6) << "eps " << eps;
    ours.backward();
    ref.backward();
    EXPECT_TRUE(torch::allclose(ours_in.grad(), ref_in.grad(), 0, 1e-7)) << "eps " << eps;
  }
}

TEST(LabelSmoothing, HandComputedTwoClassCase) {
  // softmax(ln 1, ln 3) = (0.25, 0.75), label 1, eps 0.1:
  // 0.9 * -ln 0.75 + 0.1 * -(ln 0.25 + ln 0.75) / 2
  const torch::Tensor logits = torch::tensor({{0.0f, static_cast<float>(std::log(3.0))}});
  const double expected = 0.9 * -std::log(0.75) + 0.1 * -(std::log(0.25) + std::log(0.75)) / 2;
  EXPECT_NEAR(SmoothedCrossEntropy(logits, torch::tensor({int64_t{1}}), 0.1).item<double>(), expected, 1e-6);
  EXPECT_NEAR(expected, 0.3426126868851864, 1e-12);
  // Uniform logits: log C whatever the smoothing.
  EXPECT_NEAR(SmoothedCrossEntropy(torch::zeros({2, 4}), torch::tensor({int64_t{0}, int64_t{3}}), 0.3).item<double>(),
              std::log(4.0), 1e-6);
}

TEST(LabelSmoothing, HalfLogitsGiveAnFp32Loss) {
  torch::manual_seed(4);
  const torch::Tensor logits = torch::randn({8, 5}).to(torch::kHalf);
  const torch::Tensor labels = torch::randint(0, 5, {8}, torch::kInt64);
  const torch::Tensor loss = SmoothedCrossEntropy(logits, labels, 0.1);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  const torch::Tensor ref =
      F::cross_entropy(logits.to(torch::kFloat32), labels, F::CrossEntropyFuncOptions().label_smoothing(0.1));
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-6);
}

TEST(LabelSmoothing, RejectsBadEpsilonAndShapes) {
  const torch::Tensor labels = torch::zeros({2}, torch::kInt64);
  EXPECT_THROW(SmoothedCrossEntropy(torch::zeros({2, 3}), labels, -0.1), std::invalid_argument);
  EXPECT_THROW(SmoothedCrossEntropy(torch::zeros({2, 3}), labels, 1.5), std::invalid_argument);
  EXPECT_THROW(SmoothedCrossEntropy(torch::zeros({3, 3}), labels, 0.1), std::invalid_argument);
  EXPECT_THROW(SmoothedCrossEntropy(torch::zeros({2, 3, 1}), labels, 0.1), std::invalid_argument);
}

}  // namespace
}  // namespace kubecnn::optim

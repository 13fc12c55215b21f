// SGD: the same trajectory as torch::optim::SGD without LARC; LARC clip/scale and LARS by hand;
// parameter groups, gradient-less parameters, checkpointed state and constructor checks.
#include "trainer/optim/sgd.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kubecnn::optim {
namespace {

torch::Tensor Vec(std::initializer_list<float> values) { return torch::tensor(std::vector<float>(values)); }

void ExpectTensorNear(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance = 1e-6) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, /*rtol=*/0, /*atol=*/tolerance)) << "actual\n"
                                                                                 << actual << "\nexpected\n"
                                                                                 << expected;
}

// A parameter with a given gradient, as the training loop leaves it after the all-reduce.
NamedParameter Param(const std::string& name, torch::Tensor value, torch::Tensor grad = {}) {
  value = value.clone().set_requires_grad(true);
  if (grad.defined()) value.mutable_grad() = grad.clone();
  return {name, value};
}

SgdOptions Plain(double momentum, bool nesterov, double weight_decay) {
  SgdOptions o;
  o.momentum = momentum;
  o.nesterov = nesterov;
  o.groups.weight_decay = weight_decay;
  return o;
}

TEST(Sgd, FollowsTorchOptimSgdOverFiveSteps) {
  struct Case {
    double momentum;
    bool nesterov;
    double weight_decay;
  };
  const std::vector<Case> cases = {{0.0, false, 0.0},  {0.9, false, 0.0}, {0.9, true, 1e-4},
                                   {0.9, false, 1e-2}, {0.5, true, 0.0},  {0.0, false, 1e-4}};
  const std::vector<double> lrs = {0.1, 0.1, 0.05, 0.2, 0.01};  // the lr changes between steps too
  for (const Case& c : cases) {
    SCOPED_TRACE("momentum " + std::to_string(c.momentum) + " nesterov " + std::to_string(c.nesterov) + " wd " +
                 std::to_string(c.weight_decay));
    torch::manual_seed(7);
    const std::vector<torch::Tensor> init = {torch::randn({4, 3}), torch::randn({3}), torch::randn({2, 2, 3, 3})};
    std::vector<NamedParameter> ours;
    std::vector<torch::Tensor> theirs;
    for (size_t i = 0; i < init.size(); ++i) {
      ours.push_back(Param("p" + std::to_string(i), init[i]));
      theirs.push_back(init[i].clone().set_requires_grad(true));
    }
    Sgd sgd(ours, Plain(c.momentum, c.nesterov, c.weight_decay));
    torch::optim::SGD reference(
        theirs,
        torch::optim::SGDOptions(lrs[0]).momentum(c.momentum).nesterov(c.nesterov).weight_decay(c.weight_decay));
    for (size_t step = 0; step < lrs.size(); ++step) {
      for (size_t i = 0; i < init.size(); ++i) {
        // A gradient that depends on where the parameter is, so diverging trajectories show.
        const torch::Tensor g = 2.0 * ours[i].tensor.detach() + 0.1 * static_cast<double>(step + 1);
        ours[i].tensor.mutable_grad() = g.clone();
        theirs[i].mutable_grad() = g.clone();
      }
      static_cast<torch::optim::SGDOptions&>(reference.param_groups()[0].options()).lr(lrs[step]);
      sgd.Step(lrs[step]);
      reference.step();
      for (size_t i = 0; i < init.size(); ++i) ExpectTensorNear(ours[i].tensor.detach(), theirs[i].detach(), 1e-6);
    }
  }
}

TEST(Sgd, LarcClipLimitsTheEffectiveLrToTheLocalLr) {
  // ||w|| = 5, ||g|| = 1, eta 0.02, no decay: local lr 0.1.
  for (const auto& [lr, expected] : std::vector<std::pair<double, torch::Tensor>>{
           {1.0, Vec({2.94f, 3.92f})},      // ratio min(0.1 / 1, 1) = 0.1: w - 0.1 * g
           {0.05, Vec({2.97f, 3.96f})}}) {  // local lr above lr: ratio 1, w - 0.05 * g
    SgdOptions o = Plain(0.0, false, 0.0);
    o.layerwise = {LayerwiseKind::kLarcClip, 0.02, 0.0};
    std::vector<NamedParameter> params = {Param("w", Vec({3, 4}), Vec({0.6f, 0.8f}))};
    Sgd sgd(params, o);
    sgd.Step(lr);
    ExpectTensorNear(params[0].tensor.detach(), expected);
  }
}

TEST(Sgd, LarcScaleMultipliesTheLrByTheLocalLr) {
  SgdOptions o = Plain(0.0, false, 0.0);
  o.layerwise = {LayerwiseKind::kLarcScale, 0.02, 0.0};
  std::vector<NamedParameter> params = {Param("w", Vec({3, 4}), Vec({0.6f, 0.8f}))};
  Sgd sgd(params, o);
  const SgdStepStats stats = sgd.Step(0.05);  // w - 0.05 * 0.1 * g
  ExpectTensorNear(params[0].tensor.detach(), Vec({2.997f, 3.996f}));
  EXPECT_NEAR(stats.min_trust_ratio, 0.1, 1e-7);
  EXPECT_NEAR(stats.max_trust_ratio, 0.1, 1e-7);
}

TEST(Sgd, LarcFoldsWeightDecayIntoTheGradientBeforeTheTrustRatio) {
  // wd 0.1: local lr = 0.02 * 5 / (1 + 0.1 * 5) = 1/15; d = g + 0.1 w = (0.9, 1.2); w - d / 15.
  SgdOptions o = Plain(0.0, false, 0.1);
  o.layerwise = {LayerwiseKind::kLarcScale, 0.02, 0.0};
  std::vector<NamedParameter> params = {Param("w", Vec({3, 4}), Vec({0.6f, 0.8f}))};
  Sgd sgd(params, o);
  sgd.Step(1.0);
  ExpectTensorNear(params[0].tensor.detach(), Vec({2.94f, 3.92f}));
  ExpectTensorNear(params[0].tensor.grad(), Vec({0.6f, 0.8f}), 0);  // the gradient itself is left alone
}

TEST(Sgd, LarcAppliesTheTrustRatioBeforeMomentum) {
  // Clip, eta 0.02, lr 1, momentum 0.9, the same g twice.
  // Step 1: ratio 0.1, buf = (0.06, 0.08), w = (2.94, 3.92), ||w|| = 4.9.
  // Step 2: ratio 0.098, buf = 0.9 * (0.06, 0.08) + 0.098 * g = (0.1128, 0.1504), w = (2.8272, 3.7696).
  SgdOptions o = Plain(0.9, false, 0.0);
  o.layerwise = {LayerwiseKind::kLarcClip, 0.02, 0.0};
  std::vector<NamedParameter> params = {Param("w", Vec({3, 4}), Vec({0.6f, 0.8f}))};
  Sgd sgd(params, o);
  sgd.Step(1.0);
  sgd.Step(1.0);
  ExpectTensorNear(params[0].tensor.detach(), Vec({2.8272f, 3.7696f}));
  ExpectTensorNear(sgd.StateDict().at("w.momentum_buffer"), Vec({0.1128f, 0.1504f}));
}

TEST(Sgd, LarsKeepsTheLrInsideTheMomentumBuffer) {
  // lr 1 then 0.5, eta 0.02, momentum 0.9. Step 1 as above. Step 2: d = 0.5 * 0.098 * g =
  // (0.0294, 0.0392), buf = 0.9 * (0.06, 0.08) + d = (0.0834, 0.1112), w = (2.8566, 3.8088).
  // LARC scale with the same numbers keeps the lr outside: w = (2.94, 3.92) - 0.5 * (0.1128, 0.1504).
  for (const auto& [kind, expected] : std::vector<std::pair<LayerwiseKind, torch::Tensor>>{
           {LayerwiseKind::kLars, Vec({2.8566f, 3.8088f})}, {LayerwiseKind::kLarcScale, Vec({2.8836f, 3.8448f})}}) {
    SgdOptions o = Plain(0.9, false, 0.0);
    o.layerwise = {kind, 0.02, 0.0};
    std::vector<NamedParameter> params = {Param("w", Vec({3, 4}), Vec({0.6f, 0.8f}))};
    Sgd sgd(params, o);
    sgd.Step(1.0);
    sgd.Step(0.5);
    ExpectTensorNear(params[0].tensor.detach(), expected);
  }
}

TEST(Sgd, ZeroNormParametersGetAPlainSgdStepUnderLarc) {
  SgdOptions o = Plain(0.0, false, 0.0);
  o.layerwise = {LayerwiseKind::kLarcClip, 0.003, 1e-8};
  std::vector<NamedParameter> params = {Param("bias", Vec({0, 0}), Vec({1, -2}))};
  Sgd sgd(params, o);
  sgd.Step(0.1);
  ExpectTensorNear(params[0].tensor.detach(), Vec({-0.1f, 0.2f}));
}

TEST(Sgd, BnAndBiasExclusionsSkipWeightDecayAndLarc) {
  // Zero gradients expose the weight decay: w -= lr * wd * w. LARC scale with a tiny eta would
  // shrink every adapted step to almost nothing, so the BN parameter moving shows it was excluded.
  SgdOptions o = Plain(0.0, false, 0.5);
  o.groups.weight_decay_exclude_bn_bias = true;
  std::vector<NamedParameter> params = {Param("conv.weight", torch::ones({2, 2}), torch::zeros({2, 2})),
                                        Param("bn.weight", torch::ones({2}), torch::zeros({2}))};
  Sgd sgd(params, o);
  EXPECT_EQ(sgd.num_groups(), 2u);
  sgd.Step(1.0);
  ExpectTensorNear(params[0].tensor.detach(), torch::full({2, 2}, 0.5));
  ExpectTensorNear(params[1].tensor.detach(), torch::ones({2}));

  SgdOptions larc = Plain(0.0, false, 0.0);
  larc.layerwise = {LayerwiseKind::kLarcScale, 1e-6, 0.0};
  larc.groups.layerwise_exclude_bn_bias = true;
  std::vector<NamedParameter> adapted = {Param("conv.weight", torch::ones({2, 2}), torch::ones({2, 2})),
                                         Param("bn.bias", torch::ones({2}), torch::ones({2}))};
  Sgd with_larc(adapted, larc);
  EXPECT_FALSE(with_larc.RuleOf(1).layerwise);
  with_larc.Step(1.0);
  ExpectTensorNear(adapted[0].tensor.detach(), torch::full({2, 2}, 1.0 - 1e-6));
  ExpectTensorNear(adapted[1].tensor.detach(), torch::zeros({2}));
}

TEST(Sgd, ParametersWithoutGradientAreLeftAlone) {
  std::vector<NamedParameter> params = {Param("a", Vec({1, 2}), Vec({1, 1})), Param("frozen", Vec({5, 6}))};
  Sgd sgd(params, Plain(0.9, false, 1e-4));
  const SgdStepStats stats = sgd.Step(0.1);
  EXPECT_EQ(stats.parameters_updated, 1);
  ExpectTensorNear(params[1].tensor.detach(), Vec({5, 6}), 0);
  EXPECT_EQ(sgd.StateDict().count("frozen.momentum_buffer"), 0u);
  sgd.ZeroGrad();
  EXPECT_FALSE(params[0].tensor.grad().defined());
}

TEST(Sgd, AParameterWhoseGradientAppearsLaterStartsItsMomentumThenAndGradientsStayUntouched) {
  // Step 1 updates only "a"; from step 2 on "b" has a gradient too, so the group mixes a running
  // buffer with a starting one. torch::optim::SGD is the reference.
  std::vector<NamedParameter> ours = {Param("a", Vec({1, 2, 3})), Param("b", Vec({-1, 0.5}))};
  std::vector<torch::Tensor> theirs = {Vec({1, 2, 3}).set_requires_grad(true), Vec({-1, 0.5}).set_requires_grad(true)};
  Sgd sgd(ours, Plain(0.9, true, 1e-2));
  torch::optim::SGD reference(theirs, torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-2));
  for (int step = 0; step < 4; ++step) {
    for (size_t i = 0; i < ours.size(); ++i) {
      if (i == 1 && step == 0) continue;
      const torch::Tensor g = ours[i].tensor.detach() * 0.5 + 0.25 * (step + 1);
      ours[i].tensor.mutable_grad() = g.clone();
      theirs[i].mutable_grad() = g.clone();
    }
    const torch::Tensor grad_before = ours[0].tensor.grad().clone();
    sgd.Step(0.1);
    reference.step();
    ExpectTensorNear(ours[0].tensor.grad(), grad_before, 0);
    for (size_t i = 0; i < ours.size(); ++i) ExpectTensorNear(ours[i].tensor.detach(), theirs[i].detach(), 1e-6);
  }
  EXPECT_EQ(sgd.StateDict().size(), 2u);
}

TEST(Sgd, StateDictResumesTheSameTrajectory) {
  const auto make = [] {
    return std::vector<NamedParameter>{Param("conv.weight", torch::arange(6.0f).reshape({2, 3})),
                                       Param("bn.bias", Vec({1, -1}))};
  };
  const auto set_grads = [](std::vector<NamedParameter>& params, int step) {
    for (NamedParameter& p : params) p.tensor.mutable_grad() = torch::sin(p.tensor.detach() + step);
  };
  const SgdOptions options = Plain(0.9, true, 1e-4);
  std::vector<NamedParameter> a = make();
  Sgd first(a, options);
  for (int step = 0; step < 2; ++step) {
    set_grads(a, step);
    first.Step(0.1);
  }
  // A restarted run: parameters from the checkpoint, then the optimizer state.
  std::vector<NamedParameter> b = make();
  for (size_t i = 0; i < b.size(); ++i) b[i].tensor.detach().copy_(a[i].tensor.detach());
  Sgd resumed(b, options);
  std::map<std::string, torch::Tensor> saved;
  for (const auto& [key, value] : first.StateDict()) saved.emplace(key, value.clone());
  EXPECT_EQ(saved.size(), 2u);
  resumed.LoadStateDict(saved);
  for (int step = 2; step < 4; ++step) {
    set_grads(a, step);
    set_grads(b, step);
    first.Step(0.1);
    resumed.Step(0.1);
  }
  for (size_t i = 0; i < a.size(); ++i) ExpectTensorNear(b[i].tensor.detach(), a[i].tensor.detach(), 0);
}

TEST(Sgd, LoadStateDictRejectsForeignStateWithoutChangingAnything) {
  std::vector<NamedParameter> params = {Param("w", Vec({1, 2}), Vec({1, 1}))};
  Sgd sgd(params, Plain(0.9, false, 0.0));
  sgd.Step(1.0);
  const std::vector<std::pair<std::map<std::string, torch::Tensor>, std::string>> cases = {
      {{{"v.momentum_buffer", Vec({1, 1})}}, "the model has no such parameter"},
      {{{"w.momentum_buffer", Vec({1, 1, 1})}}, "shape [3] differs from the parameter's [2]"},
      {{{"w.velocity", Vec({1, 1})}}, "not a momentum buffer"},
  };
  for (const auto& [state, message] : cases) {
    try {
      sgd.LoadStateDict(state);
      ADD_FAILURE() << "accepted " << message;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  ExpectTensorNear(sgd.StateDict().at("w.momentum_buffer"), Vec({1, 1}), 0);
}

TEST(Sgd, ConstructorRejectsWhatItCannotStep) {
  const auto message_of = [](std::vector<NamedParameter> params, const SgdOptions& options) -> std::string {
    try {
      Sgd sgd(std::move(params), options);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  const SgdOptions plain = Plain(0.9, false, 1e-4);
  EXPECT_NE(message_of({{"w", torch::ones({2}, torch::kHalf)}}, plain).find("fp32 master weights"), std::string::npos);
  EXPECT_NE(message_of({{"w", torch::ones({2})}, {"w", torch::ones({2})}}, plain).find("appears twice"),
            std::string::npos);
  EXPECT_NE(message_of({{"w", torch::ones({2})}}, Plain(0.0, true, 0.0)).find("Nesterov"), std::string::npos);
  SgdOptions no_eta = plain;
  no_eta.layerwise.kind = LayerwiseKind::kLarcClip;
  EXPECT_NE(message_of({{"w", torch::ones({2})}}, no_eta).find("needs eta > 0"), std::string::npos);
}

TEST(Sgd, NamedParametersUsesTheModulesDottedNames) {
  torch::nn::Sequential net(torch::nn::Linear(3, 2), torch::nn::BatchNorm1d(2));
  std::vector<std::string> names;
  for (const NamedParameter& p : NamedParameters(*net)) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"}));
}

}  // namespace
}  // namespace kubecnn::optim

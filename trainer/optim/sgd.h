// SGD with momentum, weight decay, parameter groups and LARC/LARS, over named fp32 parameters.
//
// Update of one parameter w with gradient g at learning rate lr (PyTorch's torch.optim.SGD
// semantics, which equal TF's MomentumOptimizer that nvcnn_hvd.py used, for a constant lr):
//
//     d = r * (g + wd * w)                    wd: the parameter's group; r: LARC/LARS trust ratio
//     buf = d                  on the first step, then  buf = momentum * buf + d
//     w -= lr * (nesterov ? d + momentum * buf : buf)
//
// With LARS (--optimizer=lars) the lr moves inside the buffer: d = lr * r * (g + wd * w) and
// w -= (nesterov ? d + momentum * buf : buf). Weight decay is folded into the gradient before the
// trust ratio is applied, as apex's LARC does; r comes from larc.h on ||w|| and the raw ||g||.
// Parameters with no gradient (frozen, or unused this step) are left alone, buffer included.
//
// fp32 master weights: the optimizer steps the model's own parameters and requires them to be
// fp32. Mixed precision goes through autocast, which keeps parameters (and so their gradients)
// fp32 and casts per op, so no separate master copy is needed; a model converted to half must be
// converted back. Gradients must already be unscaled (see unscale_grads.h) and all-reduced.
//
// Each step is a handful of fused foreach kernels per group; LARC/LARS adds one device-to-host
// copy of all the norms (one synchronisation per step).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trainer/optim/larc.h"
#include "trainer/optim/param_groups.h"

namespace kubecnn::optim {

struct NamedParameter {
  std::string name;  // unique; the key of its state in StateDict
  torch::Tensor tensor;
};

// The module's parameters with their dotted names ("layer1.0.conv1.weight").
std::vector<NamedParameter> NamedParameters(const torch::nn::Module& module);

struct SgdOptions {
  double momentum = 0.9;
  bool nesterov = false;
  ParamGroupOptions groups;    // weight decay and the BN/bias exclusions
  LayerwiseOptions layerwise;  // LARC clip/scale or LARS; kNone by default
};

// What one Step did, for the log line and metrics.
struct SgdStepStats {
  int64_t parameters_updated = 0;
  double min_trust_ratio = 1.0;  // over the parameters LARC/LARS adapted; 1 when none
  double max_trust_ratio = 1.0;
};

class Sgd {
 public:
  // Throws std::invalid_argument for a non-fp32 or non-floating parameter, a repeated or empty
  // name, a negative momentum or weight decay, nesterov without momentum, or LARC without eta.
  Sgd(std::vector<NamedParameter> params, const SgdOptions& options);

  // One update with learning rate `lr` from the parameters' current gradients.
  SgdStepStats Step(double lr);

  // Drops the gradients (set to undefined, as PyTorch's zero_grad(set_to_none=true)).
  void ZeroGrad();

  // Momentum buffers by "<parameter name>.momentum_buffer"; parameters never stepped have none.
  std::map<std::string, torch::Tensor> StateDict() const;
  // Restores buffers saved by StateDict, copied to each parameter's device. Checks everything
  // before changing anything; throws std::runtime_error for a key naming no parameter or a shape
  // that differs. Parameters absent from `state` start with no buffer (as on the first step).
  void LoadStateDict(const std::map<std::string, torch::Tensor>& state);

  const std::vector<NamedParameter>& parameters() const { return params_; }
  // The settings of parameter i's group (weight decay, whether LARC/LARS applies to it).
  const ParamRule& RuleOf(size_t i) const { return grouping_.groups[grouping_.group_of[i]]; }
  size_t num_groups() const { return grouping_.groups.size(); }

 private:
  SgdOptions options_;
  std::vector<NamedParameter> params_;
  std::vector<torch::Tensor> momentum_buffers_;  // parallel to params_; undefined until first step
  ParamGrouping grouping_;
};

}  // namespace kubecnn::optim

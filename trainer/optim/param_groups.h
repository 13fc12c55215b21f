// Which parameters get weight decay and layer-wise adaptation: a pure rule on name and rank.
//
// "BN and bias" parameters are the 1-D ones (batch-norm scale and shift, every bias) plus any
// parameter whose name ends in "bias": the usual test (timm, the MLPerf LARS reference), which
// needs no knowledge of the model's module types. Excluding them from weight decay
// (--weight_decay_exclude_bn_bias) and from LARC/LARS (--larc_exclude_bn_bias) is common practice
// for large-batch training; nvcnn_hvd.py applied both to every trainable variable, so both
// default to off.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::optim {

struct ParamGroupOptions {
  double weight_decay = 1e-4;
  bool weight_decay_exclude_bn_bias = false;
  bool layerwise_exclude_bn_bias = false;
};

bool IsBnOrBias(std::string_view name, int64_t dim);

// The settings one parameter gets; parameters with equal settings form one group.
struct ParamRule {
  double weight_decay = 0.0;
  bool layerwise = true;  // LARC/LARS trust ratio applied (when enabled at all)
  bool operator==(const ParamRule&) const = default;
};

ParamRule RuleFor(std::string_view name, int64_t dim, const ParamGroupOptions& options);

// Groups in order of first appearance: group_of[i] is the group of parameter i.
struct ParamGrouping {
  std::vector<ParamRule> groups;
  std::vector<int> group_of;
};
struct ParamShape {
  std::string name;
  int64_t dim = 0;
};
ParamGrouping GroupParameters(const std::vector<ParamShape>& params, const ParamGroupOptions& options);

}  // namespace kubecnn::optim

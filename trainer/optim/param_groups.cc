// Parameter grouping by the BN/bias rule.
#include "trainer/optim/param_groups.h"

#include <algorithm>

namespace kubecnn::optim {

bool IsBnOrBias(std::string_view name, int64_t dim) { return dim <= 1 || name.ends_with("bias"); }

ParamRule RuleFor(std::string_view name, int64_t dim, const ParamGroupOptions& options) {
  const bool bn_or_bias = IsBnOrBias(name, dim);
  ParamRule rule;
  rule.weight_decay = bn_or_bias && options.weight_decay_exclude_bn_bias ? 0.0 : options.weight_decay;
  rule.layerwise = !(bn_or_bias && options.layerwise_exclude_bn_bias);
  return rule;
}

ParamGrouping GroupParameters(const std::vector<ParamShape>& params, const ParamGroupOptions& options) {
  ParamGrouping grouping;
  grouping.group_of.reserve(params.size());
  for (const ParamShape& p : params) {
    const ParamRule rule = RuleFor(p.name, p.dim, options);
    auto it = std::find(grouping.groups.begin(), grouping.groups.end(), rule);
    if (it == grouping.groups.end()) it = grouping.groups.insert(grouping.groups.end(), rule);
    grouping.group_of.push_back(static_cast<int>(it - grouping.groups.begin()));
  }
  return grouping;
}

}  // namespace kubecnn::optim

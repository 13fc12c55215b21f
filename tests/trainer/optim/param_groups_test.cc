// Which parameters count as BN/bias, and the groups the exclusion switches produce.
#include "trainer/optim/param_groups.h"

#include <gtest/gtest.h>

namespace kubecnn::optim {
namespace {

TEST(ParamGroups, OneDimensionalAndBiasParametersAreBnOrBias) {
  EXPECT_FALSE(IsBnOrBias("conv1.weight", 4));
  EXPECT_FALSE(IsBnOrBias("fc.weight", 2));
  EXPECT_TRUE(IsBnOrBias("bn1.weight", 1));
  EXPECT_TRUE(IsBnOrBias("bn1.bias", 1));
  EXPECT_TRUE(IsBnOrBias("fc.bias", 1));
  EXPECT_TRUE(IsBnOrBias("odd.bias", 2));  // by name even when not 1-D
  EXPECT_TRUE(IsBnOrBias("scalar_gain", 0));
}

TEST(ParamGroups, ExclusionSwitchesActIndependently) {
  struct Case {
    bool exclude_wd;
    bool exclude_layerwise;
    ParamRule weight;
    ParamRule bn;
  };
  const std::vector<Case> cases = {
      {false, false, {1e-4, true}, {1e-4, true}},  // nvcnn: everything decayed and adapted
      {true, false, {1e-4, true}, {0.0, true}},
      {false, true, {1e-4, true}, {1e-4, false}},
      {true, true, {1e-4, true}, {0.0, false}},
  };
  for (const Case& c : cases) {
    const ParamGroupOptions options{1e-4, c.exclude_wd, c.exclude_layerwise};
    EXPECT_EQ(RuleFor("layer1.0.conv1.weight", 4, options), c.weight);
    EXPECT_EQ(RuleFor("layer1.0.bn1.weight", 1, options), c.bn);
    EXPECT_EQ(RuleFor("fc.bias", 1, options), c.bn);
  }
}

TEST(ParamGroups, GroupsInOrderOfFirstAppearance) {
  const std::vector<ParamShape> params = {
      {"bn1.weight", 1}, {"conv1.weight", 4}, {"bn1.bias", 1}, {"fc.weight", 2}, {"fc.bias", 1}};
  ParamGrouping g = GroupParameters(params, {1e-4, true, false});
  ASSERT_EQ(g.groups.size(), 2u);
  EXPECT_EQ(g.groups[0], (ParamRule{0.0, true}));
  EXPECT_EQ(g.groups[1], (ParamRule{1e-4, true}));
  EXPECT_EQ(g.group_of, (std::vector<int>{0, 1, 0, 1, 0}));
  g = GroupParameters(params, {1e-4, false, false});
  EXPECT_EQ(g.groups.size(), 1u);
  EXPECT_EQ(g.group_of, (std::vector<int>{0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace kubecnn::optim

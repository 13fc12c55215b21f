// The strict number/list parsers behind the optimisation flags: whole-text matches only.
#include "trainer/optim/text_parsing.h"

#include <gtest/gtest.h>

namespace kubecnn::optim {
namespace {

TEST(TextParsing, NumbersMustUseTheWholeText) {
  EXPECT_EQ(ParseDouble("0.1"), 0.1);
  EXPECT_EQ(ParseDouble(" 1e-4 "), 1e-4);
  EXPECT_EQ(ParseDouble("+2"), 2.0);
  EXPECT_EQ(ParseDouble("0.1x"), std::nullopt);
  EXPECT_EQ(ParseDouble(""), std::nullopt);
  EXPECT_EQ(ParseDouble("inf"), std::nullopt);
  EXPECT_EQ(ParseDouble("nan"), std::nullopt);
  EXPECT_EQ(ParseInt64("150000"), 150000);
  EXPECT_EQ(ParseInt64("1.5"), std::nullopt);
  EXPECT_EQ(ParseInt64("99999999999999999999"), std::nullopt);
}

TEST(TextParsing, SplitTrimsEachPieceAndKeepsEmptyOnes) {
  EXPECT_EQ(Split(" a, b ,,c", ','), (std::vector<std::string_view>{"a", "b", "", "c"}));
  EXPECT_EQ(Split("", ','), (std::vector<std::string_view>{""}));
}

TEST(TextParsing, FormatDoubleRoundTrips) {
  for (double v : {0.1, 150000.0, 1e-5, 2.0 / 3.0, 0.0}) EXPECT_EQ(ParseDouble(FormatDouble(v)), v) << v;
  EXPECT_EQ(FormatDouble(150000), "150000");
  EXPECT_EQ(FormatDouble(300000), "300000");
  EXPECT_EQ(FormatDouble(-2), "-2");
  EXPECT_EQ(FormatDouble(0.1), "0.1");
}

}  // namespace
}  // namespace kubecnn::optim

// Table tests of the fake API server's label/field selector parsing and matching against
// Kubernetes' rules.
#include "tests/support/label_selector.h"

#include <gtest/gtest.h>

namespace kubecnn::testing {
namespace {

using nlohmann::json;

TEST(LabelSelector, MatchesTheKubernetesSemanticsOfEachOperator) {
  const json web = {{"app", "web"}, {"env", "prod"}};
  const json bare = json::object();
  struct Case {
    const char* selector;
    bool web;
    bool bare;
  };
  const Case cases[] = {
      {"", true, true},
      {"app=web", true, false},
      {"app==web", true, false},
      {"app!=web", false, true},  // a missing label satisfies !=
      {"app in (web,db)", true, false},
      {"app notin (db)", true, true},  // and notin
      {"app", true, false},
      {"!app", false, true},
      {"app=web,env=qa", false, false},
      {"  app = web , env in ( prod ) ", true, false},
      {"env=", false, false},  // empty value: the label must exist and be empty
  };
  for (const Case& c : cases) {
    const LabelSelector s = ParseLabelSelector(c.selector);
    EXPECT_EQ(Matches(s, web), c.web) << c.selector;
    EXPECT_EQ(Matches(s, bare), c.bare) << c.selector;
  }
}

TEST(LabelSelector, RejectsMalformedSelectorsWithThePosition) {
  for (const char* bad :
       {"app in (a", "app in ()", "=web", "app=web,", "app web", "app > 3", "Bad Key=1", "app=not valid!"}) {
    EXPECT_THROW(ParseLabelSelector(bad), std::invalid_argument) << bad;
  }
  try {
    ParseLabelSelector("app in (a");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("position"), std::string::npos) << e.what();
  }
}

TEST(LabelSelector, ToStringRoundTrips) {
  for (const char* text :
       {"app=web", "app!=web", "app in (a,b)", "app notin (c)", "app", "!app", "a=b,c in (d)", "kubecnn.io/job=j1"}) {
    const LabelSelector s = ParseLabelSelector(text);
    EXPECT_EQ(ToString(ParseLabelSelector(ToString(s))), ToString(s)) << text;
  }
  EXPECT_EQ(ToString(ParseLabelSelector("x in (b,a,b)")), "x in (a,b)");
}

TEST(LabelSelector, ValidatesKeysAndValuesLikeTheApiServer) {
  EXPECT_TRUE(IsValidLabelKey("app"));
  EXPECT_TRUE(IsValidLabelKey("kubecnn.io/job-name"));
  EXPECT_FALSE(IsValidLabelKey("-app"));
  EXPECT_FALSE(IsValidLabelKey("Upper.Case/x"));
  EXPECT_FALSE(IsValidLabelKey(std::string(64, 'a')));
  EXPECT_TRUE(IsValidLabelValue(""));
  EXPECT_TRUE(IsValidLabelValue("v1.2_3-x"));
  EXPECT_FALSE(IsValidLabelValue("a b"));
}

TEST(FieldSelector, ParsesEqualityAndInequality) {
  const auto fields = ParseFieldSelector("metadata.name=a,metadata.namespace!=kube-system,spec.x==y");
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].field, "metadata.name");
  EXPECT_TRUE(fields[0].equals);
  EXPECT_EQ(fields[1].value, "kube-system");
  EXPECT_FALSE(fields[1].equals);
  EXPECT_EQ(fields[2].value, "y");
  EXPECT_TRUE(ParseFieldSelector("").empty());
  EXPECT_THROW(ParseFieldSelector("metadata.name"), std::invalid_argument);
  EXPECT_THROW(ParseFieldSelector("a=b,,c=d"), std::invalid_argument);
}

}  // namespace
}  // namespace kubecnn::testing

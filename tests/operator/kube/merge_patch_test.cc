// Merge patches: RFC 7386 Appendix A's examples, and CreateMergePatch as its inverse.
#include "operator/kube/merge_patch.h"

#include <gtest/gtest.h>

namespace kubecnn::kube {
namespace {

using nlohmann::json;

TEST(MergePatch, ReproducesRfc7386AppendixA) {
  const std::vector<std::array<const char*, 3>> cases = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& [target, patch, want] : cases) {
    EXPECT_EQ(ApplyMergePatch(json::parse(target), json::parse(patch)), json::parse(want)) << target << " + " << patch;
  }
}

TEST(MergePatch, CreateMergePatchIsTheInverseOfApply) {
  const json from = {{"spec", {{"workers", 2}, {"image", "a"}, {"args", {"x"}}}},
                     {"metadata", {{"labels", {{"a", "1"}}}}}};
  json to = from;
  to["spec"]["workers"] = 4;
  to["spec"].erase("image");
  to["spec"]["args"] = {"x", "y"};
  to["metadata"]["labels"]["b"] = "2";
  const json patch = CreateMergePatch(from, to);
  EXPECT_EQ(patch,
            json::parse(R"({"spec":{"workers":4,"image":null,"args":["x","y"]},"metadata":{"labels":{"b":"2"}}})"));
  EXPECT_EQ(ApplyMergePatch(from, patch), to);
  EXPECT_EQ(CreateMergePatch(from, from), json::object());
}

}  // namespace
}  // namespace kubecnn::kube

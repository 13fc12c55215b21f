// Output guard: which existing files belong to an earlier conversion.
#include "trainer/tools/output_dir.h"

#include <gtest/gtest.h>

namespace kubecnn::tools {
namespace {

TEST(OutputDir, EarlierShardsOfTheSameSplitsTheirIndexesLeftoversAndLabelsCount) {
  const std::vector<std::string> names = {"train-00000-of-00004",
                                          "train-00001-of-00004.idx",
                                          "train-00002-of-00008.partial",
                                          "validation-00000-of-00001",
                                          "labels.txt",
                                          "test-00000-of-00001",
                                          "README.md",
                                          "train-extra",
                                          "labels.txt.partial"};
  EXPECT_EQ(
      ExistingDataSetFiles(names, {"train", "validation"}),
      (std::vector<std::string>{"train-00000-of-00004", "train-00001-of-00004.idx", "train-00002-of-00008.partial",
                                "validation-00000-of-00001", "labels.txt", "labels.txt.partial"}));
  EXPECT_EQ(ExistingDataSetFiles({"README.md", "test-00000-of-00001"}, {"train"}), std::vector<std::string>{});
}

}  // namespace
}  // namespace kubecnn::tools

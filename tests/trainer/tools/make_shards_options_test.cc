// make-shards flag checks and shard-count defaults, and the small text formats it reads and writes.
#include <gtest/gtest.h>

#include "trainer/common/flags.h"
#include "trainer/data/data_error.h"
#include "trainer/tools/class_names.h"
#include "trainer/tools/labels_file.h"
#include "trainer/tools/make_shards.h"

namespace kubecnn::tools {
namespace {

TEST(MakeShardsOptions, ShardCountDefaultsAreCappedAtOnePerImageButExplicitCountsAreNot) {
  EXPECT_EQ(ResolveShardCount(0, 1024, 1281167, "train_shards"), 1024);
  EXPECT_EQ(ResolveShardCount(0, 1024, 12, "train_shards"), 12);
  EXPECT_EQ(ResolveShardCount(0, 16, 0, "train_shards"), 1);
  EXPECT_EQ(ResolveShardCount(5, 1024, 12, "train_shards"), 5);
  EXPECT_THROW(ResolveShardCount(13, 1024, 12, "train_shards"), UsageError);
}

TEST(MakeShardsOptions, ExactlyOneInputAndAnOutputAreRequired) {
  MakeShardsOptions o;
  o.output_dir = "/tmp/x";
  EXPECT_THROW(ValidateMakeShardsOptions(o), UsageError);  // no input
  o.input_dir = "/a";
  EXPECT_NO_THROW(ValidateMakeShardsOptions(o));
  o.fashion_mnist = "/b";
  EXPECT_THROW(ValidateMakeShardsOptions(o), UsageError);  // two inputs
  o.input_dir.clear();
  o.validation_dir = "/v";
  EXPECT_THROW(ValidateMakeShardsOptions(o), UsageError);  // folder-only flag with Fashion-MNIST
  o.validation_dir.clear();
  o.fashion_mnist = "--output_dir=/tmp/x";  // a bare --fashion_mnist swallowed the next flag
  EXPECT_THROW(ValidateMakeShardsOptions(o), UsageError);
  o.fashion_mnist = "/b";
  o.jpeg_quality = 0;
  EXPECT_THROW(ValidateMakeShardsOptions(o), UsageError);
  o.jpeg_quality = 95;
  o.output_dir.clear();
  EXPECT_THROW(ValidateMakeShardsOptions(o), UsageError);
}

TEST(MakeShardsOptions, PositionalArgumentsAreRejected) {
  EXPECT_THROW(RunMakeShards({"--input_dir=/a", "--output_dir=/b", "stray"}), UsageError);
}

TEST(ClassNames, FirstWordIsTheSynsetAndTheRestTheName) {
  const auto names = ParseClassNames("n01440764\ttench, Tinca tinca\r\n# c\n\nn01443537  goldfish \n", "f");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names.at("n01440764"), "tench, Tinca tinca");
  EXPECT_EQ(names.at("n01443537"), "goldfish");
}

TEST(ClassNames, LineWithoutANameIsAnErrorWithItsLineNumber) {
  try {
    ParseClassNames("n1 a\nn2\n", "synsets.txt");
    FAIL();
  } catch (const data::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("synsets.txt:2"), std::string::npos) << e.what();
  }
}

TEST(LabelsFile, SynsetColumnOnlyWhenClassesHaveOne) {
  EXPECT_EQ(FormatLabelsFile({{1, "n01", "tench"}, {2, "n02", "goldfish"}}), "1\tn01\ttench\n2\tn02\tgoldfish\n");
  EXPECT_EQ(FormatLabelsFile({{1, "", "T-shirt/top"}}), "1\tT-shirt/top\n");
}

}  // namespace
}  // namespace kubecnn::tools

// Shard discovery: name parsing, completeness, and the error that lists what is missing.
#include "trainer/data/dataset_files.h"

#include <gtest/gtest.h>

#include "tests/support/test_files.h"
#include "trainer/data/data_error.h"

namespace kubecnn::data {
namespace {

TEST(ShardNames, ParseTable) {
  struct Case {
    const char* name;
    bool ok;
    const char* split;
    int index, count;
  };
  const Case cases[] = {
      {"train-00012-of-01024", true, "train", 12, 1024},
      {"validation-00000-of-00128", true, "validation", 0, 128},
      {"my-data-set-3-of-4", true, "my-data-set", 3, 4},
      {"train-01024-of-01024", false, "", 0, 0},  // index must be < count
      {"train-00000-of-00000", false, "", 0, 0},
      {"train-00000-of-00001.idx", false, "", 0, 0},
      {"train-00000-of-00001.partial", false, "", 0, 0},
      {"train-0x0-of-00001", false, "", 0, 0},
      {"-00000-of-00001", false, "", 0, 0},
      {"labels.txt", false, "", 0, 0},
  };
  for (const Case& c : cases) {
    const auto parsed = ParseShardName(c.name);
    ASSERT_EQ(parsed.has_value(), c.ok) << c.name;
    if (!c.ok) continue;
    EXPECT_EQ(parsed->split, c.split) << c.name;
    EXPECT_EQ(parsed->index, c.index) << c.name;
    EXPECT_EQ(parsed->count, c.count) << c.name;
  }
  EXPECT_EQ(ShardFileName("train", 12, 1024), "train-00012-of-01024");
}

TEST(ShardNames, ListSplitOrdersShardsAndFindsGaps) {
  const std::vector<std::string> names = {"train-00002-of-00004", "train-00000-of-00004", "validation-00000-of-00001",
                                          "train-00000-of-00004.idx", "README"};
  const SplitListing train = ListSplit(names, "train");
  EXPECT_EQ(train.shards, (std::vector<std::string>{"train-00000-of-00004", "train-00002-of-00004"}));
  EXPECT_EQ(train.missing, (std::vector<std::string>{"train-00001-of-00004", "train-00003-of-00004"}));
  const SplitListing validation = ListSplit(names, "validation");
  EXPECT_EQ(validation.shards.size(), 1u);
  EXPECT_TRUE(validation.missing.empty());
}

TEST(ShardNames, LeftoversOfAnotherShardCountAreConflicts) {
  const SplitListing listing =
      ListSplit({"train-00000-of-00002", "train-00001-of-00002", "train-00000-of-00008"}, "train");
  EXPECT_EQ(listing.shards.size(), 2u);
  EXPECT_EQ(listing.conflicts, (std::vector<std::string>{"train-00000-of-00008"}));
}

TEST(FindShards, IncompleteSetListsTheMissingShards) {
  kubecnn::testing::ScratchDir dir;
  kubecnn::testing::WriteFile(dir / "train-00000-of-00003", "");
  kubecnn::testing::WriteFile(dir / "train-00002-of-00003", "");
  try {
    FindShards(dir.path(), "train");
    FAIL();
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("1 of 3 train shards are missing: train-00001-of-00003"), std::string::npos) << m;
  }
}

TEST(FindShards, EmptyOrMissingDirectoryIsExplained) {
  kubecnn::testing::ScratchDir dir;
  try {
    FindShards(dir.path(), "validation");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no validation-NNNNN-of-NNNNN shards"), std::string::npos) << e.what();
  }
  EXPECT_THROW(FindShards(dir / "absent", "train"), DataError);
}

TEST(FindShards, ReturnsFullPathsInIndexOrder) {
  kubecnn::testing::ScratchDir dir;
  for (const char* n : {"train-00001-of-00002", "train-00000-of-00002"}) kubecnn::testing::WriteFile(dir / n, "");
  EXPECT_EQ(FindShards(dir.path(), "train"),
            (std::vector<std::string>{dir / "train-00000-of-00002", dir / "train-00001-of-00002"}));
}

}  // namespace
}  // namespace kubecnn::data

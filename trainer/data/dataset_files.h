// Finding a data set's shards: "<split>-00012-of-01024" files (or objects) in --data_dir, all of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::data {

struct ShardName {
  std::string split;  // "train", "validation"
  int index = 0;
  int count = 0;
};

// Parses "train-00012-of-01024" (any split name; digits as ImageNet's scripts write them).
std::optional<ShardName> ParseShardName(std::string_view file_name);
// The inverse: ShardFileName("train", 12, 1024) == "train-00012-of-01024".
std::string ShardFileName(std::string_view split, int index, int count);

// What a directory listing says about one split, decided without touching the disk.
struct SplitListing {
  std::vector<std::string> shards;     // file names in index order, complete when `missing` is empty
  std::vector<std::string> missing;    // expected names not present
  std::vector<std::string> conflicts;  // names that disagree on the shard count
};
SplitListing ListSplit(const std::vector<std::string>& file_names, std::string_view split);

// The shard paths of `split` in `dir`, in index order. Throws DataError when the directory is
// unreadable, holds no such shards, or the set is incomplete (listing what is missing).
std::vector<std::string> FindShards(const std::string& dir, std::string_view split);

}  // namespace kubecnn::data

// Test helpers for reading back what make-shards wrote: every record of a split, parsed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "trainer/data/example.pb.h"

namespace kubecnn::tools::testing {

struct ReadRecord {
  std::string shard;  // file name
  tf::Example example;
};

// All records of `split` in `dir` (FindShards order), parsed as tf.train.Example.
std::vector<ReadRecord> ReadSplit(const std::string& dir, const std::string& split);

// Accessors that fail the test (ADD_FAILURE) and return a default when the feature is absent.
std::string BytesFeature(const tf::Example& example, const std::string& key);
int64_t IntFeature(const tf::Example& example, const std::string& key);

// Every file in `dir` with its bytes, for byte-for-byte comparisons of two outputs.
std::map<std::string, std::string> DirectoryContents(const std::string& dir);

}  // namespace kubecnn::tools::testing

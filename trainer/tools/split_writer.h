// Writing one split's shards in parallel: each thread owns whole shards, so the bytes of every
// shard depend only on the plan, never on the thread count or timing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/tools/dataset_source.h"
#include "trainer/tools/progress.h"

namespace kubecnn::tools {

struct SplitPlan {
  std::string split;  // shard file prefix: "train", "validation"
  int num_shards = 1;
  std::vector<size_t> items;  // item numbers in write order (shuffled); shard i gets ShardSlice(i)
};

struct SplitSummary {
  std::vector<std::string> shard_paths;
  int64_t records = 0;
  int64_t skipped = 0;
  uint64_t bytes = 0;
  std::vector<std::string> skip_examples;  // the first few skip reasons, in shard order

  static constexpr size_t kMaxSkipExamples = 5;
};

// Writes <output_dir>/ShardFileName(split, i, num_shards) and its .idx for every shard, records
// made by `make`, on `num_threads` threads; adds one to `progress` per item. The first DataError
// stops the run (finished shards stay; unfinished ones leave no file behind).
SplitSummary WriteSplit(const std::string& output_dir, const SplitPlan& plan, const RecordMaker& make, int num_threads,
                        ProgressBar* progress);

}  // namespace kubecnn::tools

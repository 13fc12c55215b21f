// Shard-per-thread writing with TfRecordWriter and a DALI .idx file per shard.
#include "trainer/tools/split_writer.h"

#include "trainer/data/dataset_files.h"
#include "trainer/data/record_index.h"
#include "trainer/data/tfrecord_writer.h"
#include "trainer/storage/storage_path.h"
#include "trainer/tools/parallel_for.h"
#include "trainer/tools/shard_plan.h"

namespace kubecnn::tools {
namespace {

struct ShardResult {
  int64_t records = 0;
  int64_t skipped = 0;
  uint64_t bytes = 0;
  std::vector<std::string> skip_examples;
};

ShardResult WriteShard(const std::string& path, const std::vector<size_t>& items, Slice slice, const RecordMaker& make,
                       ProgressBar* progress) {
  ShardResult result;
  data::TfRecordWriter writer(path);
  for (size_t i = slice.begin; i < slice.end; ++i) {
    RecordOutcome outcome = make(items[i]);
    if (outcome.skipped()) {
      ++result.skipped;
      if (result.skip_examples.size() < SplitSummary::kMaxSkipExamples) {
        result.skip_examples.push_back(std::move(outcome.skip_reason));
      }
    } else {
      writer.Write(outcome.serialized);
      ++result.records;
    }
    if (progress) progress->Add(1);
  }
  writer.Close();
  data::WriteIdxFile(data::IdxPathFor(path), writer.extents());
  for (const data::RecordExtent& e : writer.extents()) result.bytes += e.framed_length;
  return result;
}

}  // namespace

SplitSummary WriteSplit(const std::string& output_dir, const SplitPlan& plan, const RecordMaker& make, int num_threads,
                        ProgressBar* progress) {
  SplitSummary summary;
  for (int i = 0; i < plan.num_shards; ++i) {
    summary.shard_paths.push_back(storage::JoinPath(output_dir, data::ShardFileName(plan.split, i, plan.num_shards)));
  }
  std::vector<ShardResult> results(static_cast<size_t>(plan.num_shards));
  ParallelFor(results.size(), num_threads, [&](size_t shard) {
    const Slice slice = ShardSlice(static_cast<int>(shard), plan.num_shards, plan.items.size());
    results[shard] = WriteShard(summary.shard_paths[shard], plan.items, slice, make, progress);
  });
  for (ShardResult& r : results) {
    summary.records += r.records;
    summary.skipped += r.skipped;
    summary.bytes += r.bytes;
    for (std::string& reason : r.skip_examples) {
      if (summary.skip_examples.size() < SplitSummary::kMaxSkipExamples)
        summary.skip_examples.push_back(std::move(reason));
    }
  }
  return summary;
}

}  // namespace kubecnn::tools

// index: argument expansion, parallel header walks, and .idx writing.
#include "trainer/tools/index_shards.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "trainer/common/flags.h"
#include "trainer/common/log.h"
#include "trainer/data/data_error.h"
#include "trainer/data/dataset_files.h"
#include "trainer/data/record_index.h"
#include "trainer/data/tfrecord_reader.h"
#include "trainer/storage/storage.h"
#include "trainer/storage/storage_path.h"
#include "trainer/tools/parallel_for.h"
#include "trainer/tools/progress.h"

namespace kubecnn::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: kubecnn-trainer index [--num_threads=N] DATA_DIR_OR_SHARD...\n"
    "\n"
    "Writes <shard>.idx (DALI tfrecord2idx format: \"<offset> <framed length>\" per record) for every\n"
    "<split>-NNNNN-of-NNNNN shard in the given directories and for each shard file named. Only record\n"
    "headers are read; `kubecnn-trainer inspect` checks the data CRCs.";

}  // namespace

std::vector<std::string> ExpandShardArguments(const std::vector<std::string>& args) {
  std::vector<std::string> shards;
  for (const std::string& arg : args) {
    storage::Storage& store = storage::StorageFor(arg);
    // A named shard (file or object) is indexed as it is; anything else is a folder or prefix.
    if (!storage::IsUrl(arg) ? fs::is_regular_file(arg) : store.Size(arg).has_value()) {
      shards.push_back(arg);
      continue;
    }
    std::vector<std::string> found;
    try {
      for (const storage::ObjectInfo& object : store.List(arg)) {
        if (data::ParseShardName(object.name)) found.push_back(storage::JoinPath(arg, object.name));
      }
    } catch (const storage::NotFoundError&) {
      throw data::DataError(arg + ": no such file or directory (check the path)");
    }
    if (found.empty()) {
      throw data::DataError(
          arg + " holds no <split>-NNNNN-of-NNNNN shards (name the TFRecord files themselves to index them)");
    }
    shards.insert(shards.end(), found.begin(), found.end());
  }
  return shards;
}

std::vector<data::RecordExtent> ScanExtents(const std::string& path) {
  const data::ShardIndex index = data::ScanShard(path, /*skip_corrupt=*/false);
  const uint64_t size = storage::StorageFor(path).Size(path).value_or(0);
  std::vector<data::RecordExtent> extents;
  extents.reserve(index.offsets.size());
  for (size_t i = 0; i < index.offsets.size(); ++i) {
    // Without skip_corrupt the records are contiguous and the last one ends the file.
    const uint64_t end = i + 1 < index.offsets.size() ? index.offsets[i + 1] : size;
    extents.push_back({index.offsets[i], end - index.offsets[i]});
  }
  return extents;
}

IndexTotals IndexShards(const std::vector<std::string>& shards, int num_threads) {
  IndexTotals totals;
  std::mutex mu;
  ProgressBar progress("index", "shards", static_cast<int64_t>(shards.size()));
  ParallelFor(shards.size(), num_threads, [&](size_t i) {
    try {
      const std::vector<data::RecordExtent> extents = ScanExtents(shards[i]);
      data::WriteIdxFile(data::IdxPathFor(shards[i]), extents);
      uint64_t bytes = 0;
      for (const data::RecordExtent& e : extents) bytes += e.framed_length;
      std::lock_guard<std::mutex> lock(mu);
      ++totals.shards;
      totals.records += static_cast<int64_t>(extents.size());
      totals.bytes += bytes;
    } catch (const data::DataError& e) {
      std::lock_guard<std::mutex> lock(mu);
      totals.errors.push_back(e.what());
    }
    progress.Add(1);
  });
  progress.Finish();
  std::sort(totals.errors.begin(), totals.errors.end());  // stable output whatever the thread timing
  return totals;
}

int RunIndexShards(const std::vector<std::string>& args) {
  int num_threads = 0;
  FlagSet flags(kUsage);
  flags.Add("num_threads", &num_threads, "shards indexed at once; 0: one per CPU");
  const std::vector<std::string> paths = flags.Parse(args);
  if (flags.help_requested()) {
    std::printf("%s", flags.Usage().c_str());
    return 0;
  }
  if (paths.empty()) throw UsageError("name a data directory or shard files");
  if (num_threads < 0) throw UsageError("--num_threads must be >= 0 (0: one per CPU)");
  const auto start = std::chrono::steady_clock::now();
  const IndexTotals totals = IndexShards(ExpandShardArguments(paths), ResolveThreadCount(num_threads));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::string& error : totals.errors) LogError("index", error);
  std::printf("indexed %lld shards, %lld records, %.1f MB in %.1f s%s\n", static_cast<long long>(totals.shards),
              static_cast<long long>(totals.records), static_cast<double>(totals.bytes) / 1e6, seconds,
              totals.errors.empty()
                  ? ""
                  : (", " + std::to_string(totals.errors.size()) + " failed (no .idx written for them)").c_str());
  return totals.errors.empty() ? 0 : 1;
}

}  // namespace kubecnn::tools

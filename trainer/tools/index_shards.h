// `kubecnn-trainer index`: writes a DALI-format "<shard>.idx" beside every shard so the loader
// need not walk record headers at start-up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::tools {

// The shard files named by the arguments: a directory contributes every
// "<split>-NNNNN-of-NNNNN" file in it (sorted), a file is taken as it is. Throws DataError for
// a missing path or a directory without shards.
std::vector<std::string> ExpandShardArguments(const std::vector<std::string>& args);

// Extents of a shard's records from its header walk (data CRCs are not read). Throws DataError
// (file, offset, hint) on a corrupt header or truncated tail.
std::vector<data::RecordExtent> ScanExtents(const std::string& path);

struct IndexTotals {
  int64_t shards = 0;
  int64_t records = 0;
  uint64_t bytes = 0;
  std::vector<std::string> errors;  // one message per shard that could not be indexed
};

// Indexes every shard on `num_threads` threads; a bad shard is reported, the others still indexed.
IndexTotals IndexShards(const std::vector<std::string>& shards, int num_threads);

// The subcommand: `index [--num_threads=N] DATA_DIR_OR_SHARD...`. Returns 1 if any shard failed.
int RunIndexShards(const std::vector<std::string>& args);

}  // namespace kubecnn::tools

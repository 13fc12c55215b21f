// Where each record of a shard starts: from a DALI-style .idx file when one is there and agrees
// with the shard, otherwise by walking the record headers (payloads are not read).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::data {

struct ShardIndex {
  std::string path;
  std::vector<uint64_t> offsets;  // start of each whole record
  int64_t corrupt_records = 0;    // records passed over while indexing (only with skip_corrupt)
  bool from_idx_file = false;
  std::string idx_ignored_reason;  // set when an .idx file was there but disagreed with the shard

  int64_t size() const { return static_cast<int64_t>(offsets.size()); }
};

// The index file that goes with a shard: "<shard>.idx".
std::string IdxPathFor(const std::string& shard_path);

// Walks the headers of `path`. A bad length CRC or truncated tail throws DataError (file + offset +
// hint), or with skip_corrupt is counted and passed over.
ShardIndex ScanShard(const std::string& path, bool skip_corrupt);

// Reads "<offset> <framed length>" lines (DALI's tfrecord2idx format). Returns nullopt when the
// file is absent or does not describe a shard of `shard_size` bytes exactly (records contiguous,
// the last one ending at the end of the file), in which case `why` says what disagreed.
std::optional<ShardIndex> LoadIdxFile(const std::string& idx_path, const std::string& shard_path, uint64_t shard_size,
                                      std::string* why);

// Writes the index atomically.
void WriteIdxFile(const std::string& idx_path, const std::vector<RecordExtent>& extents);

// LoadIdxFile if it agrees, else ScanShard.
ShardIndex IndexShard(const std::string& path, bool skip_corrupt);

}  // namespace kubecnn::data

// Shard indexing: header walks, and DALI-compatible .idx files checked against the shard, through
// the storage layer (local files or s3:// objects alike).
#include "trainer/data/record_index.h"

#include <sstream>

#include "trainer/data/data_error.h"
#include "trainer/data/tfrecord_reader.h"
#include "trainer/storage/storage.h"

namespace kubecnn::data {

std::string IdxPathFor(const std::string& shard_path) { return shard_path + ".idx"; }

ShardIndex ScanShard(const std::string& path, bool skip_corrupt) {
  RecordFile file(path, storage::Access::kSequential);
  ShardIndex index;
  index.path = path;
  uint64_t offset = 0;
  while (true) {
    uint64_t length = 0;
    const RecordRead r = ReadRecordLengthAt(file, offset, &length);
    if (r.status == RecordStatus::kEndOfFile) break;
    if (r.status == RecordStatus::kOk) {
      index.offsets.push_back(offset);
      offset = r.next_offset;
      continue;
    }
    if (!skip_corrupt) throw DataError(CorruptRecordMessage(path, offset, r.status));
    ++index.corrupt_records;
    if (r.status == RecordStatus::kTruncated) break;
    offset = FindNextValidRecord(file, offset + 1);
  }
  return index;
}

std::optional<ShardIndex> LoadIdxFile(const std::string& idx_path, const std::string& shard_path, uint64_t shard_size,
                                      std::string* why) {
  std::string text;
  try {
    text = storage::StorageFor(idx_path).ReadAll(idx_path);
  } catch (const storage::NotFoundError&) {
    *why = "no index file";
    return std::nullopt;
  }
  std::istringstream in(text);
  ShardIndex index;
  index.path = shard_path;
  index.from_idx_file = true;
  uint64_t offset = 0, length = 0, expected = 0;
  while (in >> offset >> length) {
    if (offset != expected || length < kRecordFramingBytes) {
      *why = "record " + std::to_string(index.offsets.size()) + " at offset " + std::to_string(offset) +
             " does not follow the previous one";
      return std::nullopt;
    }
    index.offsets.push_back(offset);
    expected = offset + length;
  }
  if (!in.eof()) {
    *why = "unreadable line after record " + std::to_string(index.offsets.size());
    return std::nullopt;
  }
  if (expected != shard_size) {
    *why = "records end at byte " + std::to_string(expected) + " but the shard has " + std::to_string(shard_size);
    return std::nullopt;
  }
  return index;
}

void WriteIdxFile(const std::string& idx_path, const std::vector<RecordExtent>& extents) {
  std::string text;
  for (const RecordExtent& e : extents) text += std::to_string(e.offset) + ' ' + std::to_string(e.framed_length) + '\n';
  storage::WriteAtomically(idx_path, {text});
}

ShardIndex IndexShard(const std::string& path, bool skip_corrupt) {
  const auto size = storage::StorageFor(path).Size(path);
  if (!size) throw DataError("opening " + path + ": no such file or object (check --data_dir)");
  std::string why;
  if (auto index = LoadIdxFile(IdxPathFor(path), path, *size, &why)) return *index;
  ShardIndex index = ScanShard(path, skip_corrupt);
  if (why != "no index file") index.idx_ignored_reason = IdxPathFor(path) + ": " + why;
  return index;
}

}  // namespace kubecnn::data

// Shard indexing: header walks, and DALI-compatible .idx files checked against the shard.
#include "trainer/data/record_index.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "trainer/data/data_error.h"
#include "trainer/data/tfrecord_reader.h"

namespace kubecnn::data {

std::string IdxPathFor(const std::string& shard_path) { return shard_path + ".idx"; }

ShardIndex ScanShard(const std::string& path, bool skip_corrupt) {
  RecordFile file(path);
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
  std::ifstream in(idx_path);
  if (!in) {
    *why = "no index file";
    return std::nullopt;
  }
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
  const std::string temp = idx_path + ".partial";
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const RecordExtent& e : extents) out << e.offset << ' ' << e.framed_length << '\n';
    out.flush();
    if (!out) throw DataError("writing " + temp + ": " + std::strerror(errno) + " (disk full or read-only?)");
  }
  if (std::rename(temp.c_str(), idx_path.c_str()) != 0) {
    throw DataError("renaming " + temp + " to " + idx_path + ": " + std::strerror(errno));
  }
}

ShardIndex IndexShard(const std::string& path, bool skip_corrupt) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw DataError("opening " + path + ": " + std::strerror(errno) + " (check --data_dir)");
  }
  std::string why;
  if (auto index = LoadIdxFile(IdxPathFor(path), path, static_cast<uint64_t>(st.st_size), &why)) return *index;
  ShardIndex index = ScanShard(path, skip_corrupt);
  if (why != "no index file") index.idx_ignored_reason = IdxPathFor(path) + ": " + why;
  return index;
}

}  // namespace kubecnn::data

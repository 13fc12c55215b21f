// TFRecord files: random-access and sequential reading with both CRCs verified.
//
// Framing of each record: uint64 length (LE), uint32 masked CRC32C of those 8 bytes,
// `length` bytes of data, uint32 masked CRC32C of the data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "trainer/storage/storage.h"

namespace kubecnn::data {

inline constexpr uint64_t kRecordHeaderBytes = 12;
inline constexpr uint64_t kRecordFooterBytes = 4;
inline constexpr uint64_t kRecordFramingBytes = kRecordHeaderBytes + kRecordFooterBytes;

// An open shard (a local file or an s3:// object): safe to share between threads.
class RecordFile {
 public:
  // Throws DataError naming the path when it is not there, StorageError/TransientError otherwise.
  explicit RecordFile(const std::string& path, storage::Access access = storage::Access::kRandom);

  const std::string& path() const { return object_->path(); }
  uint64_t size() const { return object_->size(); }
  // Reads exactly n bytes at offset; false if the file ends first. Throws on I/O errors.
  bool ReadAt(uint64_t offset, void* buffer, uint64_t n) const { return object_->ReadAt(offset, buffer, n); }
  const storage::ReadableObject& object() const { return *object_; }

 private:
  std::unique_ptr<storage::ReadableObject> object_;
};

enum class RecordStatus { kOk, kEndOfFile, kTruncated, kBadLengthCrc, kBadDataCrc };

// What went wrong, in words, e.g. "data CRC mismatch".
const char* RecordStatusText(RecordStatus status);

struct RecordRead {
  RecordStatus status = RecordStatus::kOk;
  uint64_t next_offset = 0;  // where the following record starts (valid when the length was trusted)
};

// Reads the record starting at `offset` into `data`, verifying both CRCs.
// kEndOfFile only when offset == file size.
RecordRead ReadRecordAt(const RecordFile& file, uint64_t offset, std::string* data);

// Checks one framed record held in memory (header, payload, footer, possibly followed by other
// bytes) and copies its payload into `data`.
RecordStatus ParseFramedRecord(std::string_view framed, std::string* data);

// Reads only the header at `offset`: returns the data length (verifies the length CRC and that the
// whole record fits in the file). Used to index a shard without reading its payloads.
RecordRead ReadRecordLengthAt(const RecordFile& file, uint64_t offset, uint64_t* length);

// Searches forward from `offset` for the next position holding a whole valid record (both CRCs),
// to resynchronise after a corrupt header. Returns the file size if there is none.
uint64_t FindNextValidRecord(const RecordFile& file, uint64_t offset);

// The error message for a bad record, with file, offset and a hint:
// "reading train-00012-of-01024: data CRC mismatch at offset 81920 (...)".
std::string CorruptRecordMessage(const std::string& path, uint64_t offset, RecordStatus status);

// Sequential reader over one file. Throws DataError on a corrupt record unless skip_corrupt is
// set, in which case it counts the record, resynchronises and goes on.
class TfRecordReader {
 public:
  explicit TfRecordReader(const std::string& path, bool skip_corrupt = false);

  // Next record's payload into `data`; false at the end of the file.
  bool Next(std::string* data);
  uint64_t offset() const { return offset_; }                // where the next record starts
  uint64_t record_offset() const { return record_offset_; }  // where the last returned one started
  int64_t corrupt_records() const { return corrupt_records_; }
  const RecordFile& file() const { return file_; }

 private:
  RecordFile file_;
  bool skip_corrupt_;
  uint64_t offset_ = 0;
  uint64_t record_offset_ = 0;
  int64_t corrupt_records_ = 0;
};

}  // namespace kubecnn::data

// TFRecord files: random-access and sequential reading with both CRCs verified.
//
// Framing of each record: uint64 length (LE), uint32 masked CRC32C of those 8 bytes,
// `length` bytes of data, uint32 masked CRC32C of the data.
#pragma once

#include <cstdint>
#include <string>

namespace kubecnn::data {

inline constexpr uint64_t kRecordHeaderBytes = 12;
inline constexpr uint64_t kRecordFooterBytes = 4;
inline constexpr uint64_t kRecordFramingBytes = kRecordHeaderBytes + kRecordFooterBytes;

// An open file read with pread: safe to share between threads.
class RecordFile {
 public:
  explicit RecordFile(const std::string& path);  // throws DataError naming the path and errno
  ~RecordFile();
  RecordFile(const RecordFile&) = delete;
  RecordFile& operator=(const RecordFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  // Reads exactly n bytes at offset; false if the file ends first. Throws on I/O errors.
  bool ReadAt(uint64_t offset, void* buffer, uint64_t n) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
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

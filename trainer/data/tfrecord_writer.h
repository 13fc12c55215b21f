// TFRecord writing, atomically: records go to "<path>.partial", renamed over <path> by Close().
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::data {

// Where one record sits in its file, framing included (the DALI tfrecord2idx convention).
struct RecordExtent {
  uint64_t offset = 0;
  uint64_t framed_length = 0;  // 16 + payload length
};

class TfRecordWriter {
 public:
  explicit TfRecordWriter(std::string path);  // throws DataError if the temp file can't be created
  ~TfRecordWriter();                          // without Close(): removes the partial file
  TfRecordWriter(const TfRecordWriter&) = delete;
  TfRecordWriter& operator=(const TfRecordWriter&) = delete;

  void Write(std::string_view record);
  // Flushes, fsyncs and renames into place. A reader never sees a half-written file.
  void Close();

  const std::vector<RecordExtent>& extents() const { return extents_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
  std::vector<RecordExtent> extents_;
};

// Frames one record into bytes (for tests and in-memory writers).
std::string FrameRecord(std::string_view record);

}  // namespace kubecnn::data

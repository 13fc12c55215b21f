// TFRecord writing, atomically: through a storage::ObjectWriter, so the file (or object) appears
// under its name, whole, only at Close().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/storage/storage.h"

namespace kubecnn::data {

// Where one record sits in its file, framing included (the DALI tfrecord2idx convention).
struct RecordExtent {
  uint64_t offset = 0;
  uint64_t framed_length = 0;  // 16 + payload length
};

class TfRecordWriter {
 public:
  explicit TfRecordWriter(std::string path);  // a local path or s3:// URL
  ~TfRecordWriter();                          // without Close(): nothing appears under `path`
  TfRecordWriter(const TfRecordWriter&) = delete;
  TfRecordWriter& operator=(const TfRecordWriter&) = delete;

  void Write(std::string_view record);
  // Makes the whole file visible under its name (fsync + rename, or a completed upload).
  void Close();

  const std::vector<RecordExtent>& extents() const { return extents_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<storage::ObjectWriter> writer_;
  uint64_t offset_ = 0;
  std::vector<RecordExtent> extents_;
};

// Frames one record into bytes (for tests and in-memory writers).
std::string FrameRecord(std::string_view record);

}  // namespace kubecnn::data

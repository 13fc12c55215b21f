// TFRecord writing with masked CRCs, fsync and atomic rename.
#include "trainer/data/tfrecord_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "trainer/data/crc32c.h"
#include "trainer/data/data_error.h"

namespace kubecnn::data {
std::string FrameRecord(std::string_view record) {
  char header[12];
  const uint64_t len = record.size();
  std::memcpy(header, &len, 8);
  const uint32_t len_crc = MaskCrc(Crc32c(header, 8));
  std::memcpy(header + 8, &len_crc, 4);
  const uint32_t data_crc = MaskCrc(Crc32c(record.data(), record.size()));
  std::string out(header, 12);
  out.append(record);
  out.append(reinterpret_cast<const char*>(&data_crc), 4);
  return out;
}

TfRecordWriter::TfRecordWriter(std::string path) : path_(std::move(path)), temp_path_(path_ + ".partial") {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) {
    throw DataError("creating " + temp_path_ + ": " + std::strerror(errno) +
                    " (check that the output directory exists and is writable)");
  }
}

TfRecordWriter::~TfRecordWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void TfRecordWriter::Write(std::string_view record) {
  const std::string framed = FrameRecord(record);
  if (std::fwrite(framed.data(), 1, framed.size(), file_) != framed.size()) {
    throw DataError("writing " + temp_path_ + ": " + std::strerror(errno) + " (disk full?)");
  }
  extents_.push_back({offset_, framed.size()});
  offset_ += framed.size();
}

void TfRecordWriter::Close() {
  if (!file_) return;
  const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    std::remove(temp_path_.c_str());
    throw DataError("finishing " + path_ + ": " + std::strerror(ok ? errno : err) + " (disk full or read-only?)");
  }
}

}  // namespace kubecnn::data

// TFRecord writing with masked CRCs into a storage object.
#include "trainer/data/tfrecord_writer.h"

#include <cstring>

#include "trainer/data/crc32c.h"

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

TfRecordWriter::TfRecordWriter(std::string path)
    : path_(std::move(path)), writer_(storage::StorageFor(path_).Create(path_)) {}

TfRecordWriter::~TfRecordWriter() = default;

void TfRecordWriter::Write(std::string_view record) {
  if (!writer_) throw std::logic_error("TfRecordWriter::Write after Close of " + path_);
  const std::string framed = FrameRecord(record);
  writer_->Write(framed);
  extents_.push_back({offset_, framed.size()});
  offset_ += framed.size();
}

void TfRecordWriter::Close() {
  if (!writer_) return;
  writer_->Commit();
  writer_.reset();
}

}  // namespace kubecnn::data

// TFRecord reading: framing checks over a storage object, resynchronisation and the sequential reader.
#include "trainer/data/tfrecord_reader.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "trainer/data/crc32c.h"
#include "trainer/data/data_error.h"

namespace kubecnn::data {
namespace {

uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // TFRecord is little-endian, as is every host we build for
  return v;
}

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

RecordFile::RecordFile(const std::string& path, storage::Access access) {
  try {
    object_ = storage::StorageFor(path).Open(path, access);
  } catch (const storage::NotFoundError& e) {
    throw DataError(std::string(e.what()) + " (check that --data_dir points at the shards and that they are readable)");
  }
}

const char* RecordStatusText(RecordStatus status) {
  switch (status) {
    case RecordStatus::kOk: return "ok";
    case RecordStatus::kEndOfFile: return "end of file";
    case RecordStatus::kTruncated: return "truncated record";
    case RecordStatus::kBadLengthCrc: return "length CRC mismatch";
    case RecordStatus::kBadDataCrc: return "data CRC mismatch";
  }
  return "unknown";
}

RecordRead ReadRecordLengthAt(const RecordFile& file, uint64_t offset, uint64_t* length) {
  RecordRead r;
  if (offset == file.size()) {
    r.status = RecordStatus::kEndOfFile;
    return r;
  }
  uint8_t header[kRecordHeaderBytes];
  if (offset > file.size() || file.size() - offset < kRecordHeaderBytes ||
      !file.ReadAt(offset, header, sizeof header)) {
    r.status = RecordStatus::kTruncated;
    return r;
  }
  const uint64_t len = LoadU64(header);
  if (MaskCrc(Crc32c(header, 8)) != LoadU32(header + 8)) {
    r.status = RecordStatus::kBadLengthCrc;
    return r;
  }
  const uint64_t remaining = file.size() - offset - kRecordHeaderBytes;
  if (len > remaining || remaining - len < kRecordFooterBytes) {
    r.status = RecordStatus::kTruncated;
    return r;
  }
  *length = len;
  r.next_offset = offset + kRecordFramingBytes + len;
  return r;
}

RecordRead ReadRecordAt(const RecordFile& file, uint64_t offset, std::string* data) {
  uint64_t len = 0;
  RecordRead r = ReadRecordLengthAt(file, offset, &len);
  if (r.status != RecordStatus::kOk) return r;
  // Payload and footer in one read.
  data->resize(len + kRecordFooterBytes);
  if (!file.ReadAt(offset + kRecordHeaderBytes, data->data(), len + kRecordFooterBytes)) {
    r.status = RecordStatus::kTruncated;  // the file shrank under us
    return r;
  }
  const uint32_t stored = LoadU32(reinterpret_cast<const uint8_t*>(data->data()) + len);
  data->resize(len);
  if (MaskCrc(Crc32c(data->data(), len)) != stored) r.status = RecordStatus::kBadDataCrc;
  return r;
}

RecordStatus ParseFramedRecord(std::string_view framed, std::string* data) {
  if (framed.size() < kRecordFramingBytes) return RecordStatus::kTruncated;
  const auto* header = reinterpret_cast<const uint8_t*>(framed.data());
  if (MaskCrc(Crc32c(header, 8)) != LoadU32(header + 8)) return RecordStatus::kBadLengthCrc;
  const uint64_t len = LoadU64(header);
  if (len > framed.size() - kRecordFramingBytes) return RecordStatus::kTruncated;
  data->assign(framed.data() + kRecordHeaderBytes, len);
  const uint32_t stored = LoadU32(header + kRecordHeaderBytes + len);
  if (MaskCrc(Crc32c(data->data(), len)) != stored) return RecordStatus::kBadDataCrc;
  return RecordStatus::kOk;
}

uint64_t FindNextValidRecord(const RecordFile& file, uint64_t offset) {
  constexpr uint64_t kChunk = 1 << 16;
  std::vector<uint8_t> buf;
  std::string scratch;
  for (uint64_t base = offset; base + kRecordFramingBytes <= file.size(); base += kChunk) {
    const uint64_t n = std::min<uint64_t>(kChunk + kRecordHeaderBytes, file.size() - base);
    buf.resize(n);
    if (!file.ReadAt(base, buf.data(), n)) break;
    for (uint64_t i = 0; i + kRecordHeaderBytes <= n && i < kChunk; ++i) {
      if (MaskCrc(Crc32c(buf.data() + i, 8)) != LoadU32(buf.data() + i + 8)) continue;
      if (ReadRecordAt(file, base + i, &scratch).status == RecordStatus::kOk) return base + i;
    }
  }
  return file.size();
}

std::string CorruptRecordMessage(const std::string& path, uint64_t offset, RecordStatus status) {
  return "reading " + path + ": " + RecordStatusText(status) + " at offset " + std::to_string(offset) +
         " (file is truncated or corrupt; re-copy it or pass --skip_corrupt_records to count and skip such records)";
}

TfRecordReader::TfRecordReader(const std::string& path, bool skip_corrupt)
    : file_(path, storage::Access::kSequential), skip_corrupt_(skip_corrupt) {}

bool TfRecordReader::Next(std::string* data) {
  while (true) {
    const RecordRead r = ReadRecordAt(file_, offset_, data);
    if (r.status == RecordStatus::kOk) {
      record_offset_ = offset_;
      offset_ = r.next_offset;
      return true;
    }
    if (r.status == RecordStatus::kEndOfFile) return false;
    if (!skip_corrupt_) throw DataError(CorruptRecordMessage(file_.path(), offset_, r.status));
    ++corrupt_records_;
    switch (r.status) {
      case RecordStatus::kBadDataCrc: offset_ = r.next_offset; break;  // the length was trustworthy
      case RecordStatus::kBadLengthCrc: offset_ = FindNextValidRecord(file_, offset_ + 1); break;
      default: offset_ = file_.size(); break;  // truncated: nothing follows
    }
  }
}

}  // namespace kubecnn::data

// IDX parsing with every header field checked, and reading through zlib's gzread.
#include "trainer/tools/idx_images.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "trainer/data/data_error.h"

namespace kubecnn::tools {
namespace {

using data::DataError;

constexpr uint8_t kUnsignedByteType = 0x08;

uint32_t LoadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

const char* TypeName(uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

}  // namespace

size_t IdxArray::item_size() const {
  size_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

IdxArray ParseIdx(std::string_view bytes, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0) {
    char magic[16] = "(too short)";
    if (bytes.size() >= 4) std::snprintf(magic, sizeof magic, "0x%08x", LoadBigEndian32(p));
    throw DataError("reading " + name + ": not an IDX file (magic " + magic +
                    ", expected 0x000008NN) (pass the MNIST-format *-ubyte or *-ubyte.gz files themselves)");
  }
  const uint8_t type = p[2];
  const uint8_t ndims = p[3];
  if (type != kUnsignedByteType) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", type);
    throw DataError("reading " + name + ": IDX element type " + code + " (" + TypeName(type) +
                    ") is not supported (only unsigned-byte images and labels, as MNIST and Fashion-MNIST use)");
  }
  if (ndims == 0 || ndims > 4) {
    throw DataError("reading " + name + ": IDX header has " + std::to_string(ndims) +
                    " dimensions (expected 1 for labels or 3 for images; the file is probably corrupt)");
  }
  const size_t header = 4 + 4 * size_t{ndims};
  if (bytes.size() < header) {
    throw DataError("reading " + name + ": IDX header truncated (" + std::to_string(bytes.size()) +
                    " bytes; re-download the file)");
  }
  IdxArray array;
  uint64_t expected = 1;
  for (size_t i = 0; i < ndims; ++i) {
    const uint32_t dim = LoadBigEndian32(p + 4 + 4 * i);
    array.dims.push_back(dim);
    expected *= dim;
    if (expected > (uint64_t{1} << 40)) {
      throw DataError("reading " + name + ": IDX dimensions are implausibly large (the file is probably corrupt)");
    }
  }
  const uint64_t actual = bytes.size() - header;
  if (actual != expected) {
    std::string shape;
    for (uint32_t d : array.dims) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    throw DataError(
        "reading " + name + ": IDX header says " + shape + " = " + std::to_string(expected) +
        " bytes of data but the file holds " + std::to_string(actual) +
        (actual < expected ? " (truncated download? re-download it)" : " (trailing garbage; re-download it)"));
  }
  array.data.assign(p + header, p + bytes.size());
  return array;
}

IdxArray ReadIdxFile(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain files transparently too
  if (!file) {
    throw DataError(
        "opening " + path + ": " + std::strerror(errno) +
        " (check the path; Debian's dataset-fashion-mnist package installs /usr/share/datasets/fashion-mnist)");
  }
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const int got = gzread(file, buffer, sizeof buffer);
    if (got < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw DataError("reading " + path + ": " + message +
                      " (the gzip stream is corrupt or truncated; re-download it)");
    }
    if (got == 0) break;
    bytes.append(buffer, static_cast<size_t>(got));
  }
  gzclose(file);
  return ParseIdx(bytes, path);
}

}  // namespace kubecnn::tools

// IDX files (the MNIST / Fashion-MNIST format), plain or gzip'd: images and labels as unsigned bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::tools {

// An n-dimensional array of unsigned bytes, row-major: images are {count, rows, cols}, labels {count}.
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;

  uint32_t count() const { return dims.empty() ? 0 : dims[0]; }
  // Bytes per item (product of the dimensions after the first).
  size_t item_size() const;
};

// Parses the bytes of an IDX file: magic 00 00 08 <ndims>, big-endian uint32 dims, then the data.
// Throws DataError naming `name` on a bad magic, an unsupported element type, or a size that
// disagrees with the dimensions.
IdxArray ParseIdx(std::string_view bytes, const std::string& name);

// Reads `path` through zlib (gzip'd or not) and parses it.
IdxArray ReadIdxFile(const std::string& path);

}  // namespace kubecnn::tools

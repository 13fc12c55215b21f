// What a JPEG's header says (size, colour components), read with TurboJPEG without decoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubecnn::tools {

struct JpegInfo {
  int width = 0;
  int height = 0;
  int channels = 0;        // 1 grayscale, 3 colour, 4 CMYK/YCCK
  std::string colorspace;  // "Grayscale", "RGB" or "CMYK" (the image/colorspace values)
};

// True when the bytes start with the JPEG SOI marker FF D8.
bool LooksLikeJpeg(std::string_view bytes);

// A name for what the bytes look like instead, for skip reports: "PNG", "GIF", "bytes 3c 68 ...".
std::string DescribeNonJpeg(std::string_view bytes);

// Reads the header; nullopt with `error` set when TurboJPEG cannot (not a JPEG, truncated header).
std::optional<JpegInfo> ReadJpegInfo(std::string_view bytes, std::string* error);

}  // namespace kubecnn::tools

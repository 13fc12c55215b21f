// JPEG header probing with tjDecompressHeader3 and magic-number sniffing for the rest.
#include "trainer/tools/jpeg_info.h"

#include <turbojpeg.h>

#include <cstdio>
#include <memory>

namespace kubecnn::tools {
namespace {

bool StartsWith(std::string_view bytes, std::string_view prefix) { return bytes.substr(0, prefix.size()) == prefix; }

}  // namespace

bool LooksLikeJpeg(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
         static_cast<unsigned char>(bytes[1]) == 0xD8;
}

std::string DescribeNonJpeg(std::string_view bytes) {
  if (bytes.empty()) return "an empty file";
  if (StartsWith(bytes, "\x89PNG")) return "a PNG";
  if (StartsWith(bytes, "GIF8")) return "a GIF";
  if (StartsWith(bytes, "BM")) return "a BMP";
  if (StartsWith(bytes, "RIFF") && bytes.size() >= 12 && bytes.substr(8, 4) == "WEBP") return "a WebP";
  if (StartsWith(bytes, "II*") || StartsWith(bytes, "MM\0*")) return "a TIFF";
  std::string out = "not a JPEG (starts with";
  for (size_t i = 0; i < bytes.size() && i < 4; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, " %02x", static_cast<unsigned char>(bytes[i]));
    out += hex;
  }
  return out + ")";
}

std::optional<JpegInfo> ReadJpegInfo(std::string_view bytes, std::string* error) {
  if (!LooksLikeJpeg(bytes)) {
    *error = DescribeNonJpeg(bytes);
    return std::nullopt;
  }
  std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitDecompress(), tjDestroy);
  if (!handle) {
    *error = std::string("TurboJPEG init failed: ") + tjGetErrorStr2(nullptr);
    return std::nullopt;
  }
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<unsigned long>(bytes.size()), &width, &height, &subsampling, &colorspace) != 0) {
    *error = std::string("unreadable JPEG header: ") + tjGetErrorStr2(handle.get());
    return std::nullopt;
  }
  JpegInfo info;
  info.width = width;
  info.height = height;
  switch (colorspace) {
    case TJCS_GRAY:
      info.channels = 1;
      info.colorspace = "Grayscale";
      break;
    case TJCS_CMYK:
    case TJCS_YCCK:
      info.channels = 4;
      info.colorspace = "CMYK";
      break;
    default:
      info.channels = 3;
      info.colorspace = "RGB";
      break;
  }
  return info;
}

}  // namespace kubecnn::tools

// Encoding raw pixels as JPEG with TurboJPEG (tjCompress2).
#pragma once

#include <cstdint>
#include <string>

namespace kubecnn::tools {

// One compressor; not thread-safe, so keep one per thread.
class JpegEncoder {
 public:
  JpegEncoder();  // throws DataError if TurboJPEG cannot be initialised
  ~JpegEncoder();
  JpegEncoder(const JpegEncoder&) = delete;
  JpegEncoder& operator=(const JpegEncoder&) = delete;

  // Packed rows of `channels` (1 = grayscale, 3 = RGB) bytes per pixel; quality 1..100.
  // Grayscale stays single-component (no chroma planes). Throws DataError if TurboJPEG fails.
  std::string Encode(const uint8_t* pixels, int width, int height, int channels, int quality);

 private:
  void* handle_ = nullptr;
};

}  // namespace kubecnn::tools

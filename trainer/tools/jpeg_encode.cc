// tjCompress2 wrapper: grayscale stays grayscale, colour uses 4:2:0 as ImageNet's JPEGs do.
#include "trainer/tools/jpeg_encode.h"

#include <turbojpeg.h>

#include "trainer/data/data_error.h"

namespace kubecnn::tools {

JpegEncoder::JpegEncoder() : handle_(tjInitCompress()) {
  if (!handle_) throw data::DataError(std::string("TurboJPEG compressor init failed: ") + tjGetErrorStr2(nullptr));
}

JpegEncoder::~JpegEncoder() { tjDestroy(handle_); }

std::string JpegEncoder::Encode(const uint8_t* pixels, int width, int height, int channels, int quality) {
  if (channels != 1 && channels != 3) {
    throw data::DataError("JPEG encoding: " + std::to_string(channels) + " channels (only 1 or 3 are supported)");
  }
  const int format = channels == 1 ? TJPF_GRAY : TJPF_RGB;
  const int subsampling = channels == 1 ? TJSAMP_GRAY : TJSAMP_420;
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  if (tjCompress2(handle_, pixels, width, 0, height, format, &jpeg, &size, subsampling, quality, TJFLAG_ACCURATEDCT) !=
      0) {
    const std::string message = tjGetErrorStr2(handle_);
    tjFree(jpeg);
    throw data::DataError("JPEG encoding of a " + std::to_string(width) + "x" + std::to_string(height) +
                          " image failed: " + message);
  }
  std::string out(reinterpret_cast<const char*>(jpeg), size);
  tjFree(jpeg);
  return out;
}

}  // namespace kubecnn::tools

// libjpeg-turbo decoding of a region of a JPEG, with DCT-domain downscaling, to packed RGB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace kubecnn::data {

enum class JpegStatus {
  kOk,
  kNotJpeg,  // the bytes do not start with a JPEG SOI marker
  kCorrupt,  // libjpeg failed, the data ended early, or the entropy-coded data is damaged
};

enum class JpegColorSpace { kGray, kYCbCr, kRgb, kCmyk, kYcck, kUnknown };

struct JpegHeader {
  int width = 0;
  int height = 0;
  int components = 0;
  JpegColorSpace color_space = JpegColorSpace::kUnknown;
  bool adobe_marker = false;  // an APP14 "Adobe" marker: CMYK/YCCK data is stored inverted
  bool progressive = false;
};

struct JpegResult {
  JpegStatus status = JpegStatus::kOk;
  std::string error;  // what libjpeg said, when status != kOk
  int warnings = 0;   // recoverable libjpeg warnings (e.g. extraneous bytes before a marker)

  bool ok() const { return status == JpegStatus::kOk; }
};

struct JpegDecodeOptions {
  int scale_denom = 1;    // 1, 2, 4 or 8: libjpeg-turbo's SIMD DCT-domain downscales
  bool fast_dct = false;  // JDCT_IFAST with plain (merged) upsampling instead of JDCT_ISLOW + fancy
};

// Integer rectangle in pixels of the (scaled) image.
struct PixelRegion {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// Decoded packed RGB; points into the decoder's buffer, valid until its next call.
struct DecodedImage {
  const uint8_t* pixels = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;  // bytes between rows
};

// Size of one side after a 1/scale_denom DCT-domain downscale (libjpeg rounds up).
int ScaledJpegSize(int size, int scale_denom);

// The largest of 8, 4, 2 that keeps a crop_width x crop_height window at least
// output_width x output_height once downscaled, or 1 when the crop is under twice the output.
int ChooseDctScaleDenom(double crop_width, double crop_height, int output_width, int output_height);

// Reads JPEG headers and decodes regions of the image. Keeps one libjpeg decompressor and one pixel
// buffer alive across images, so a worker thread should own one and reuse it. Not thread-safe.
// Never prints, never exits, never throws on bad bytes: problems come back as JpegResult.
class JpegDecoder {
 public:
  JpegDecoder();
  ~JpegDecoder();
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  // Parses the markers up to the first scan. `jpeg` must stay alive until DecodeRegion returns.
  JpegResult ReadHeader(std::span<const uint8_t> jpeg, JpegHeader* header);

  // Decodes `region` of the image whose header was just read, after a 1/scale_denom downscale (the
  // region is in downscaled pixels and must lie inside the ScaledJpegSize image). Only the iMCU
  // columns that hold the region are transformed, rows above it are skipped, rows below it are never
  // read: so a file damaged only below the region decodes fine. Grayscale, YCbCr, RGB, CMYK and
  // YCCK all come out as RGB.
  JpegResult DecodeRegion(const PixelRegion& region, const JpegDecodeOptions& options, DecodedImage* image);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kubecnn::data

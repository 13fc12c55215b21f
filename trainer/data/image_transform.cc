// Per-sample decode + augment: crop window -> DCT scale -> region decode -> resize with flip.
#include "trainer/data/image_transform.h"

#include <algorithm>
#include <cmath>

#include "trainer/common/random.h"
#include "trainer/data/crop_sampler.h"
#include "trainer/data/image_resize.h"
#include "trainer/data/jpeg_decoder.h"

namespace kubecnn::data {
namespace {

// Decompression-bomb guard, as PIL's (2 * Image.MAX_IMAGE_PIXELS): a header may claim 65500^2.
constexpr double kMaxSourcePixels = 2.0 * 89478485;

TransformResult Failed(TransformStatus status, std::string error, int width, int height) {
  TransformResult result;
  result.status = status;
  result.error = std::move(error);
  result.source_width = width;
  result.source_height = height;
  return result;
}

TransformStatus ToTransformStatus(JpegStatus status) {
  return status == JpegStatus::kNotJpeg ? TransformStatus::kNotJpeg : TransformStatus::kCorruptJpeg;
}

// The pixels to decode, in the 1/denom image: the window's pixels, plus in eval the pixels the
// resampling filter reaches beyond it. Train crops like torchvision: crop first, then resize, so the
// filter never sees outside the crop. Eval resizes the whole image, then crops, so it does.
PixelRegion RegionToDecode(const CropWindow& window, int denom, int scaled_width, int scaled_height, int output_size,
                           bool include_filter_reach) {
  double margin = 0.0;
  if (include_filter_reach) {
    const double scale = std::max(window.width, window.height) / denom / output_size;
    margin = std::ceil(std::max(scale, 1.0)) + 1.0;
  }
  const int x0 = std::max(0, static_cast<int>(std::floor(window.x / denom - margin)));
  const int y0 = std::max(0, static_cast<int>(std::floor(window.y / denom - margin)));
  const int x1 = std::min(scaled_width, static_cast<int>(std::ceil((window.x + window.width) / denom + margin)));
  const int y1 = std::min(scaled_height, static_cast<int>(std::ceil((window.y + window.height) / denom + margin)));
  return PixelRegion{x0, y0, std::max(x1 - x0, 1), std::max(y1 - y0, 1)};
}

}  // namespace

TransformResult DecodeAndTransform(std::span<const uint8_t> jpeg, std::span<const BoundingBox> boxes,
                                   const TransformOptions& options, uint64_t seed, uint8_t* out) {
  thread_local JpegDecoder decoder;
  JpegHeader header;
  const JpegResult read = decoder.ReadHeader(jpeg, &header);
  if (!read.ok()) return Failed(ToTransformStatus(read.status), read.error, 0, 0);
  const int width = header.width;
  const int height = header.height;
  if (static_cast<double>(width) * height > kMaxSourcePixels) {
    return Failed(TransformStatus::kCorruptJpeg,
                  "JPEG claims " + std::to_string(width) + "x" + std::to_string(height) +
                      " pixels, over the decompression-bomb limit of " +
                      std::to_string(static_cast<int64_t>(kMaxSourcePixels)),
                  width, height);
  }

  // The crop, then the flip, from one stream seeded by `seed` alone.
  Rng rng(seed);
  const int size = options.output_size;
  const CropWindow window = options.train ? SampleDistortedCrop(width, height, boxes, options.crop, rng)
                                          : EvalCrop(width, height, size, options.eval_crop_fraction);
  const bool flip = options.train && options.random_flip && rng.Bernoulli(0.5);

  const int denom = options.dct_scaling ? ChooseDctScaleDenom(window.width, window.height, size, size) : 1;
  const PixelRegion region =
      RegionToDecode(window, denom, ScaledJpegSize(width, denom), ScaledJpegSize(height, denom), size, !options.train);
  DecodedImage decoded;
  const JpegResult decode = decoder.DecodeRegion(region, JpegDecodeOptions{denom, options.fast_dct}, &decoded);
  if (!decode.ok()) {
    return Failed(ToTransformStatus(decode.status),
                  decode.error + " (" + std::to_string(width) + "x" + std::to_string(height) + " JPEG, region " +
                      std::to_string(region.width) + "x" + std::to_string(region.height) + "+" +
                      std::to_string(region.x) + "+" + std::to_string(region.y) + " at 1/" + std::to_string(denom) +
                      ")",
                  width, height);
  }

  const SourceRect rect{window.x / denom - region.x, window.y / denom - region.y, window.width / denom,
                        window.height / denom};
  ResizeRgb(RgbView{decoded.pixels, decoded.width, decoded.height, decoded.stride}, rect, size, size, flip, out);

  TransformResult result;
  result.source_width = width;
  result.source_height = height;
  result.dct_scale_denom = denom;
  return result;
}

}  // namespace kubecnn::data

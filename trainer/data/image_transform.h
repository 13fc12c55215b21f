// Decode + augment one JPEG into a fixed-size RGB uint8 image: the per-sample work of the loader.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "trainer/data/bounding_box.h"

namespace kubecnn::data {

// Inception-style distorted bounding-box crop. Defaults are torchvision's RandomResizedCrop
// (scale 0.08..1, ratio 3/4..4/3); min_object_covered applies only when the record has boxes
// (0.1 as in nvcnn / TF's sample_distorted_bounding_box).
struct CropOptions {
  double area_min = 0.08;
  double area_max = 1.0;
  double aspect_min = 3.0 / 4.0;
  double aspect_max = 4.0 / 3.0;
  double min_object_covered = 0.1;
  int max_attempts = 10;
};

struct TransformOptions {
  int output_size = 224;  // square output, output_size x output_size x 3 (HWC)
  bool train = true;      // train: distorted crop + flip; eval: resize shorter side + centre crop
  CropOptions crop;
  bool random_flip = true;            // train only
  double eval_crop_fraction = 0.875;  // eval: shorter side resized to output_size / fraction
  bool dct_scaling = true;            // let libjpeg downscale in the DCT domain when the crop is >= 2x output
  bool fast_dct = true;               // JDCT_IFAST and plain upsampling, as nvcnn's INTEGER_FAST decode
};

// What happened to one sample; the loader counts the failures.
enum class TransformStatus { kOk, kNotJpeg, kCorruptJpeg };

struct TransformResult {
  TransformStatus status = TransformStatus::kOk;
  std::string error;     // set when status != kOk: what the decoder said
  int source_width = 0;  // the JPEG's size
  int source_height = 0;
  int dct_scale_denom = 1;  // 1, 2, 4 or 8: DCT-domain downscale that was used
};

// Decodes `jpeg` and writes options.output_size^2 * 3 bytes of RGB (HWC) to `out`.
// Grayscale and CMYK/YCCK JPEGs come out as RGB. `boxes` are the record's object boxes (may be
// empty). All randomness comes from `seed`, so the same (bytes, seed) always gives the same pixels.
// Never throws on bad image bytes: returns kNotJpeg / kCorruptJpeg and leaves `out` unspecified.
TransformResult DecodeAndTransform(std::span<const uint8_t> jpeg, std::span<const BoundingBox> boxes,
                                   const TransformOptions& options, uint64_t seed, uint8_t* out);

}  // namespace kubecnn::data

// Crop-window sampling: torchvision RandomResizedCrop, TF box coverage, and the eval centre crop.
#include "trainer/data/crop_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace kubecnn::data {
namespace {

// Python's round(): nearest, ties to even (std::nearbyint under the default rounding mode).
int RoundHalfEven(double value) { return static_cast<int>(std::nearbyint(value)); }

// One torchvision candidate: consumes the same draws as get_params (area, aspect, then the two
// offsets when the candidate fits). Returns false when the candidate does not fit the image.
bool DrawCandidate(int width, int height, const CropOptions& options, Rng& rng, CropWindow* window) {
  const double area = static_cast<double>(width) * height;
  const double target_area = area * rng.Uniform(options.area_min, options.area_max);
  const double aspect = std::exp(rng.Uniform(std::log(options.aspect_min), std::log(options.aspect_max)));
  const int w = RoundHalfEven(std::sqrt(target_area * aspect));
  const int h = RoundHalfEven(std::sqrt(target_area / aspect));
  if (w <= 0 || w > width || h <= 0 || h > height) return false;
  const auto top = static_cast<int>(rng.Below(static_cast<uint64_t>(height - h + 1)));
  const auto left = static_cast<int>(rng.Below(static_cast<uint64_t>(width - w + 1)));
  *window =
      CropWindow{static_cast<double>(left), static_cast<double>(top), static_cast<double>(w), static_cast<double>(h)};
  return true;
}

// torchvision's fallback: the largest centred crop whose aspect ratio is clamped into the range.
CropWindow CentreFallback(int width, int height, const CropOptions& options) {
  const double in_ratio = static_cast<double>(width) / height;
  int w = width;
  int h = height;
  if (in_ratio < options.aspect_min) {
    h = RoundHalfEven(w / options.aspect_min);
  } else if (in_ratio > options.aspect_max) {
    w = RoundHalfEven(h * options.aspect_max);
  }
  return CropWindow{static_cast<double>((width - w) / 2), static_cast<double>((height - h) / 2), static_cast<double>(w),
                    static_cast<double>(h)};
}

bool CoversSomeBox(const CropWindow& window, std::span<const BoundingBox> boxes, double min_covered, int width,
                   int height) {
  return std::any_of(boxes.begin(), boxes.end(),
                     [&](const BoundingBox& box) { return BoxCoverage(window, box, width, height) >= min_covered; });
}

}  // namespace

double BoxCoverage(const CropWindow& window, const BoundingBox& box, int width, int height) {
  const double bx0 = static_cast<double>(box.xmin) * width;
  const double bx1 = static_cast<double>(box.xmax) * width;
  const double by0 = static_cast<double>(box.ymin) * height;
  const double by1 = static_cast<double>(box.ymax) * height;
  const double box_area = (bx1 - bx0) * (by1 - by0);
  if (!(box_area > 0.0)) return 0.0;
  const double ix = std::min(bx1, window.x + window.width) - std::max(bx0, window.x);
  const double iy = std::min(by1, window.y + window.height) - std::max(by0, window.y);
  if (ix <= 0.0 || iy <= 0.0) return 0.0;
  return ix * iy / box_area;
}

CropWindow SampleDistortedCrop(int width, int height, std::span<const BoundingBox> boxes, const CropOptions& options,
                               Rng& rng) {
  for (int attempt = 0; attempt < options.max_attempts; ++attempt) {
    CropWindow candidate;
    if (!DrawCandidate(width, height, options, rng, &candidate)) continue;
    if (boxes.empty() || CoversSomeBox(candidate, boxes, options.min_object_covered, width, height)) {
      return candidate;
    }
  }
  if (!boxes.empty()) {
    return CropWindow{0.0, 0.0, static_cast<double>(width), static_cast<double>(height)};
  }
  return CentreFallback(width, height, options);
}

CropWindow EvalCrop(int width, int height, int output_size, double crop_fraction) {
  // torchvision Resize(int): the shorter side becomes `resize_short`, the longer one is truncated
  // from resize_short * long / short; CenterCrop then rounds its offsets half-to-even.
  const int resize_short = RoundHalfEven(output_size / crop_fraction);
  const int shorter = std::min(width, height);
  const int longer = std::max(width, height);
  const auto resize_long = static_cast<int>(static_cast<double>(resize_short) * longer / shorter);
  const int resized_width = width <= height ? resize_short : resize_long;
  const int resized_height = width <= height ? resize_long : resize_short;
  const int left = RoundHalfEven((resized_width - output_size) / 2.0);
  const int top = RoundHalfEven((resized_height - output_size) / 2.0);
  // A resize to resized_width maps output pixel centre u + 0.5 to source (u + 0.5) * scale_x;
  // the window reproduces that for u = left + i.
  const double scale_x = static_cast<double>(width) / resized_width;
  const double scale_y = static_cast<double>(height) / resized_height;
  return CropWindow{left * scale_x, top * scale_y, output_size * scale_x, output_size * scale_y};
}

}  // namespace kubecnn::data

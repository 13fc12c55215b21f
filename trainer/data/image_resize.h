// Antialiased bilinear resampling of an RGB window to a fixed size, with an optional mirror.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kubecnn::data {

// Packed RGB pixels (3 bytes each); rows are `stride` bytes apart.
struct RgbView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;
};

// A window in the view's pixel coordinates (pixel i covers [i, i + 1)); may be fractional.
struct SourceRect {
  double x = 0.0;
  double y = 0.0;
  double width = 0.0;
  double height = 0.0;
};

// Resamples `rect` of `source` to out_width x out_height packed RGB at `out` (stride out_width * 3),
// like PIL's Image.resize(size, BILINEAR, box=rect), which is what torchvision uses: a triangle
// filter whose support grows with the downscale ratio (antialiasing), clamped to the view's edges
// and renormalised there. Pixels outside `rect` but inside the view do feed the filter, so pass a
// view that ends where the image (or the crop you mean) ends. flip_horizontal mirrors the output
// left-right at no cost. Identity geometry reproduces the source exactly; a constant source stays
// constant. Fixed-point weights; the only memory it takes is a per-thread scratch buffer.
void ResizeRgb(const RgbView& source, const SourceRect& rect, int out_width, int out_height, bool flip_horizontal,
               uint8_t* out);

}  // namespace kubecnn::data

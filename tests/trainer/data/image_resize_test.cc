// Tests of ResizeRgb: exact identity, constants, mirroring, and agreement with PIL's filter maths.
#include "trainer/data/image_resize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "trainer/common/random.h"

namespace kubecnn::data {
namespace {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;

  RgbView View() const { return RgbView{pixels.data(), width, height, static_cast<std::ptrdiff_t>(width) * 3}; }
  uint8_t At(int x, int y, int c) const { return pixels[(static_cast<size_t>(y) * width + x) * 3 + c]; }
};

Image Noise(int width, int height, uint64_t seed) {
  Image image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  Rng rng(seed);
  for (auto& p : image.pixels) p = static_cast<uint8_t>(rng.Below(256));
  return image;
}

Image Constant(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  Image image{width, height, {}};
  for (int i = 0; i < width * height; ++i) image.pixels.insert(image.pixels.end(), {r, g, b});
  return image;
}

Image Resize(const Image& source, const SourceRect& rect, int width, int height, bool flip) {
  Image out{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  ResizeRgb(source.View(), rect, width, height, flip, out.pixels.data());
  return out;
}

SourceRect Whole(const Image& image) {
  return SourceRect{0, 0, static_cast<double>(image.width), static_cast<double>(image.height)};
}

// PIL's BILINEAR resample in double precision, with no rounding between the passes: the
// specification ResizeRgb approximates in fixed point.
std::vector<double> ReferenceWeights(int in_size, double start, double length, int out_size, int i, int* first) {
  const double scale = length / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double centre = start + (i + 0.5) * scale;
  const int lo = std::max(static_cast<int>(centre - filter_scale + 0.5), 0);
  const int hi = std::min(static_cast<int>(centre + filter_scale + 0.5), in_size);
  std::vector<double> weights;
  double sum = 0;
  for (int x = lo; x < hi; ++x) {
    const double d = std::abs((x - centre + 0.5) / filter_scale);
    weights.push_back(d < 1 ? 1 - d : 0);
    sum += weights.back();
  }
  for (double& w : weights) w /= sum;
  *first = lo;
  return weights;
}

Image ReferenceResize(const Image& source, const SourceRect& rect, int width, int height) {
  Image out{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (int y = 0; y < height; ++y) {
    int y0 = 0;
    const auto wy = ReferenceWeights(source.height, rect.y, rect.height, height, y, &y0);
    for (int x = 0; x < width; ++x) {
      int x0 = 0;
      const auto wx = ReferenceWeights(source.width, rect.x, rect.width, width, x, &x0);
      for (int c = 0; c < 3; ++c) {
        double value = 0;
        for (size_t j = 0; j < wy.size(); ++j) {
          for (size_t i = 0; i < wx.size(); ++i) value += wy[j] * wx[i] * source.At(x0 + i, y0 + j, c);
        }
        out.pixels[(static_cast<size_t>(y) * width + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(std::lround(value), 0L, 255L));
      }
    }
  }
  return out;
}

int MaxDifference(const Image& a, const Image& b) {
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
  return worst;
}

TEST(ResizeRgb, SameSizeWithoutFlipCopiesExactly) {
  for (auto [w, h] : {std::pair{1, 1}, {5, 3}, {224, 224}, {333, 17}}) {
    const Image source = Noise(w, h, 1);
    EXPECT_EQ(Resize(source, Whole(source), w, h, false).pixels, source.pixels) << w << "x" << h;
  }
}

TEST(ResizeRgb, IntegerWindowAtSameSizeCopiesThatWindowExactly) {
  const Image source = Noise(100, 80, 2);
  const Image out = Resize(source, SourceRect{13, 7, 50, 40}, 50, 40, false);
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 50; ++x) {
      for (int c = 0; c < 3; ++c) ASSERT_EQ(out.At(x, y, c), source.At(x + 13, y + 7, c));
    }
  }
}

TEST(ResizeRgb, ConstantImageStaysConstantAtAnyScale) {
  const Image source = Constant(300, 200, 0, 128, 255);
  const std::vector<SourceRect> rects = {
      {0, 0, 300, 200}, {10.3, 5.7, 31.1, 47.9}, {100, 0, 200, 200}, {0.5, 0.5, 2, 2}};
  for (const SourceRect& rect : rects) {
    for (auto [w, h] : {std::pair{224, 224}, {7, 300}, {1, 1}, {600, 50}}) {
      for (bool flip : {false, true}) {
        const Image out = Resize(source, rect, w, h, flip);
        EXPECT_EQ(out.pixels, Constant(w, h, 0, 128, 255).pixels) << w << "x" << h << " flip " << flip;
      }
    }
  }
}

TEST(ResizeRgb, FlipMirrorsTheUnflippedOutput) {
  const Image source = Noise(400, 300, 3);
  const SourceRect rect{37, 21, 301.5, 250.25};
  const Image plain = Resize(source, rect, 224, 224, false);
  const Image flipped = Resize(source, rect, 224, 224, true);
  for (int y = 0; y < 224; ++y) {
    for (int x = 0; x < 224; ++x) {
      for (int c = 0; c < 3; ++c) ASSERT_EQ(flipped.At(x, y, c), plain.At(223 - x, y, c)) << x << "," << y;
    }
  }
}

TEST(ResizeRgb, MatchesPilBilinearMathsWithinOneLevel) {
  struct Case {
    int source_width, source_height;
    SourceRect rect;
    int width, height;
  };
  const std::vector<Case> cases = {
      {500, 375, {0, 0, 500, 375}, 224, 224},                // downscale, both axes
      {500, 375, {85.04, 23.44, 328.45, 328.13}, 224, 224},  // an eval-style fractional window
      {120, 90, {10, 5, 60, 70}, 224, 224},                  // upscale
      {640, 480, {0, 0, 640, 480}, 80, 60},                  // 8x downscale: wide support
      {50, 400, {3, 17, 40, 380}, 224, 100},                 // up in x, down in y
      {31, 29, {0, 0, 31, 29}, 17, 33},                      // odd sizes, spans under 16 bytes
  };
  for (const Case& c : cases) {
    const Image source = Noise(c.source_width, c.source_height, 4);
    const Image out = Resize(source, c.rect, c.width, c.height, false);
    EXPECT_LE(MaxDifference(out, ReferenceResize(source, c.rect, c.width, c.height)), 1)
        << c.source_width << "x" << c.source_height << " -> " << c.width << "x" << c.height;
  }
}

TEST(ResizeRgb, TwofoldDownscaleOfARampIsTheRampAtPixelCentres) {
  // A horizontal ramp v = 2x: the antialiased 2x filter (weights 1/8 3/8 3/8 1/8) is symmetric about
  // the output centre 2u + 1, so interior outputs are exactly 2 * (2u + 1) - 1 = 4u + 1.
  Image ramp{128, 4, {}};
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 128; ++x) {
      const auto v = static_cast<uint8_t>(2 * x);
      ramp.pixels.insert(ramp.pixels.end(), {v, v, v});
    }
  }
  const Image out = Resize(ramp, Whole(ramp), 64, 2, false);
  for (int u = 1; u < 63; ++u) EXPECT_EQ(out.At(u, 1, 0), 4 * u + 1) << "column " << u;
}

TEST(ResizeRgb, FilterStaysInsideTheView) {
  // The view is the middle of a larger buffer whose outside is white; a black view must stay black
  // even where the filter would reach outside it.
  Image big = Constant(60, 60, 255, 255, 255);
  for (int y = 20; y < 40; ++y) {
    for (int x = 20; x < 40; ++x) std::fill_n(&big.pixels[(y * 60 + x) * 3], 3, 0);
  }
  const RgbView view{&big.pixels[(20 * 60 + 20) * 3], 20, 20, 60 * 3};
  std::vector<uint8_t> out(5 * 5 * 3, 77);
  ResizeRgb(view, SourceRect{0, 0, 20, 20}, 5, 5, false, out.data());
  EXPECT_EQ(out, std::vector<uint8_t>(5 * 5 * 3, 0));
}

}  // namespace
}  // namespace kubecnn::data

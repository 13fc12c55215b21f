// Tests of the crop-window functions: bounds, ranges, box coverage, eval grid, determinism.
#include "trainer/data/crop_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace kubecnn::data {
namespace {

struct ImageSize {
  int width;
  int height;
};

// Sizes from tiny to huge, square, portrait, landscape, and far outside the aspect range.
const std::vector<ImageSize> kSizes = {{1, 1},     {2, 3},      {17, 5},     {224, 224},  {500, 375},
                                       {375, 500}, {1000, 100}, {100, 1000}, {4000, 3000}};

bool Inside(const CropWindow& w, const ImageSize& size) {
  return w.x >= 0 && w.y >= 0 && w.width > 0 && w.height > 0 && w.x + w.width <= size.width &&
         w.y + w.height <= size.height;
}

bool IsIntegral(const CropWindow& w) {
  return w.x == std::floor(w.x) && w.y == std::floor(w.y) && w.width == std::floor(w.width) &&
         w.height == std::floor(w.height);
}

TEST(SampleDistortedCrop, WindowIsAlwaysAnIntegerRectangleInsideTheImage) {
  const CropOptions options;
  for (const ImageSize& size : kSizes) {
    for (uint64_t seed = 0; seed < 2000; ++seed) {
      Rng rng(seed);
      const CropWindow w = SampleDistortedCrop(size.width, size.height, {}, options, rng);
      ASSERT_TRUE(Inside(w, size)) << size.width << "x" << size.height << " seed " << seed;
      ASSERT_TRUE(IsIntegral(w)) << size.width << "x" << size.height << " seed " << seed;
    }
  }
}

TEST(SampleDistortedCrop, AcceptedCropsHaveAreaAndAspectInRangeUpToRounding) {
  CropOptions options;
  options.area_min = 0.2;
  options.area_max = 0.6;
  options.aspect_min = 0.5;
  options.aspect_max = 2.0;
  const ImageSize size{1200, 900};
  for (uint64_t seed = 0; seed < 5000; ++seed) {
    Rng rng(seed);
    const CropWindow w = SampleDistortedCrop(size.width, size.height, {}, options, rng);
    // Each side was rounded by at most half a pixel.
    const double area_slack = (0.5 * (w.width + w.height) + 0.25) / (size.width * size.height);
    const double area = w.width * w.height / (size.width * size.height);
    EXPECT_GE(area, options.area_min - area_slack) << "seed " << seed;
    EXPECT_LE(area, options.area_max + area_slack) << "seed " << seed;
    // The unrounded sides had the sampled aspect ratio.
    EXPECT_GE((w.width + 0.5) / (w.height - 0.5), options.aspect_min) << "seed " << seed;
    EXPECT_LE((w.width - 0.5) / (w.height + 0.5), options.aspect_max) << "seed " << seed;
  }
}

TEST(SampleDistortedCrop, FallsBackToTorchvisionCentreCropWithClampedAspect) {
  // A full-area crop with aspect in [3/4, 4/3] never fits a 10:1 image, so all attempts fail.
  CropOptions options;
  options.area_min = 1.0;
  options.area_max = 1.0;
  struct Case {
    ImageSize size;
    CropWindow expected;
  };
  const std::vector<Case> cases = {
      // Too wide: h = height, w = round(100 * 4/3) = 133, x = (1000 - 133) // 2 = 433.
      {{1000, 100}, {433, 0, 133, 100}},
      // Too tall: w = width, h = round(100 / (3/4)) = 133.
      {{100, 1000}, {0, 433, 100, 133}},
  };
  for (const Case& c : cases) {
    Rng rng(7);
    const CropWindow w = SampleDistortedCrop(c.size.width, c.size.height, {}, options, rng);
    EXPECT_EQ(w.x, c.expected.x);
    EXPECT_EQ(w.y, c.expected.y);
    EXPECT_EQ(w.width, c.expected.width);
    EXPECT_EQ(w.height, c.expected.height);
  }
}

TEST(SampleDistortedCrop, SameSeedGivesSameWindowAndSeedsDiffer) {
  const CropOptions options;
  int distinct = 0;
  CropWindow previous;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Rng a(seed);
    Rng b(seed);
    const CropWindow wa = SampleDistortedCrop(500, 375, {}, options, a);
    const CropWindow wb = SampleDistortedCrop(500, 375, {}, options, b);
    EXPECT_EQ(wa.x, wb.x);
    EXPECT_EQ(wa.y, wb.y);
    EXPECT_EQ(wa.width, wb.width);
    EXPECT_EQ(wa.height, wb.height);
    if (wa.x != previous.x || wa.width != previous.width) ++distinct;
    previous = wa;
  }
  EXPECT_GE(distinct, 95);
}

TEST(SampleDistortedCrop, AreaIsUniformAspectLogUniformAndPositionCentredOverManySeeds) {
  // area_max * aspect_max < 1 on a square image, so every first candidate fits and the accepted
  // distribution is the sampled one.
  CropOptions options;
  options.area_min = 0.08;
  options.area_max = 0.5;
  const int side = 3000;
  const int n = 20000;
  double area_sum = 0;
  double log_aspect_sum = 0;
  int wide = 0;
  int low_area = 0;
  double relative_x_sum = 0;
  for (int i = 0; i < n; ++i) {
    Rng rng(DeriveSeed(99, i));
    const CropWindow w = SampleDistortedCrop(side, side, {}, options, rng);
    const double area = w.width * w.height / (static_cast<double>(side) * side);
    area_sum += area;
    low_area += area < 0.29;
    log_aspect_sum += std::log(w.width / w.height);
    wide += w.width > w.height;
    relative_x_sum += (w.x + w.width / 2) / side;
  }
  EXPECT_NEAR(area_sum / n, 0.29, 0.005);  // mean of U(0.08, 0.5)
  EXPECT_NEAR(static_cast<double>(low_area) / n, 0.5, 0.02);
  EXPECT_NEAR(log_aspect_sum / n, 0.0, 0.01);  // log-uniform, symmetric about 1
  EXPECT_NEAR(static_cast<double>(wide) / n, 0.5, 0.02);
  EXPECT_NEAR(relative_x_sum / n, 0.5, 0.01);
}

TEST(BoxCoverage, IsTheFractionOfTheBoxInsideTheWindow) {
  struct Case {
    CropWindow window;
    BoundingBox box;
    double expected;
  };
  // 100 x 200 image.
  const std::vector<Case> cases = {
      {{0, 0, 100, 200}, {0.1f, 0.1f, 0.5f, 0.5f}, 1.0},     // whole image holds any box
      {{0, 0, 30, 200}, {0.1f, 0.0f, 0.5f, 1.0f}, 0.5},      // left half of a 10..50 box
      {{50, 100, 50, 100}, {0.0f, 0.0f, 1.0f, 1.0f}, 0.25},  // a quarter of the image
      {{60, 0, 40, 200}, {0.1f, 0.1f, 0.5f, 0.5f}, 0.0},     // disjoint
      {{0, 0, 100, 200}, {0.5f, 0.5f, 0.5f, 0.6f}, 0.0},     // empty box
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(BoxCoverage(c.window, c.box, 100, 200), c.expected, 1e-6);
  }
}

TEST(SampleDistortedCrop, WithBoxesEveryWindowCoversEnoughOfSomeBoxOrIsTheWholeImage) {
  const ImageSize size{640, 480};
  struct Case {
    std::vector<BoundingBox> boxes;
    double min_covered;
  };
  const std::vector<Case> cases = {
      {{{0.0f, 0.0f, 0.1f, 0.1f}}, 0.5},  // a small box in a corner
      {{{0.85f, 0.8f, 1.0f, 1.0f}}, 0.9},
      {{{0.0f, 0.0f, 0.1f, 0.1f}, {0.45f, 0.45f, 0.55f, 0.55f}}, 1.0},  // either box, wholly
      {{{0.2f, 0.2f, 0.8f, 0.8f}}, 0.1},
  };
  for (const Case& c : cases) {
    CropOptions options;
    options.min_object_covered = c.min_covered;
    int whole = 0;
    for (uint64_t seed = 0; seed < 2000; ++seed) {
      Rng rng(seed);
      const CropWindow w = SampleDistortedCrop(size.width, size.height, c.boxes, options, rng);
      ASSERT_TRUE(Inside(w, size));
      const bool is_whole = w.x == 0 && w.y == 0 && w.width == size.width && w.height == size.height;
      whole += is_whole;
      bool covered = false;
      for (const BoundingBox& box : c.boxes) {
        covered |= BoxCoverage(w, box, size.width, size.height) >= c.min_covered;
      }
      ASSERT_TRUE(covered || is_whole) << "seed " << seed;
    }
    EXPECT_LT(whole, 2000) << "the constraint should be satisfiable sometimes";
  }
}

TEST(SampleDistortedCrop, BoxesPullCropsTowardThem) {
  // Without boxes a crop holds the top-left 10% box wholly now and then; requiring it makes every
  // accepted crop hold it.
  const std::vector<BoundingBox> boxes = {{0.0f, 0.0f, 0.1f, 0.1f}};
  CropOptions options;
  options.min_object_covered = 1.0;
  options.max_attempts = 100;
  int with_boxes = 0;
  int without_boxes = 0;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    Rng a(seed);
    Rng b(seed);
    with_boxes += BoxCoverage(SampleDistortedCrop(500, 500, boxes, options, a), boxes[0], 500, 500) >= 1.0;
    without_boxes += BoxCoverage(SampleDistortedCrop(500, 500, {}, options, b), boxes[0], 500, 500) >= 1.0;
  }
  EXPECT_EQ(with_boxes, 1000);
  EXPECT_LT(without_boxes, 300);
}

// Pixel centre of output column `u` in source coordinates, given a window and output size.
double WindowCentre(double start, double length, int output_size, int u) {
  return start + (u + 0.5) * length / output_size;
}

TEST(EvalCrop, ReproducesResizeShorterSideThenCentreCropGrid) {
  struct Case {
    ImageSize size;
    int resized_width;  // torchvision Resize(256): short side 256, long side int(256 * long / short)
    int resized_height;
    int left;  // CenterCrop(224): round((resized - 224) / 2), half to even
    int top;
  };
  const std::vector<Case> cases = {
      {{500, 375}, 341, 256, 58, 16},  // (341 - 224) / 2 = 58.5 rounds to 58
      {{375, 500}, 256, 341, 16, 58},   {{256, 256}, 256, 256, 16, 16},
      {{1200, 1600}, 256, 341, 16, 58}, {{106, 97}, 279, 256, 28, 16},  // upscaling: 256 * 106 / 97 = 279.75
      {{333, 500}, 256, 384, 16, 80},
  };
  for (const Case& c : cases) {
    const CropWindow w = EvalCrop(c.size.width, c.size.height, 224, 0.875);
    const double sx = static_cast<double>(c.size.width) / c.resized_width;
    const double sy = static_cast<double>(c.size.height) / c.resized_height;
    for (int u : {0, 1, 111, 223}) {
      EXPECT_NEAR(WindowCentre(w.x, w.width, 224, u), (c.left + u + 0.5) * sx, 1e-9)
          << c.size.width << "x" << c.size.height << " column " << u;
      EXPECT_NEAR(WindowCentre(w.y, w.height, 224, u), (c.top + u + 0.5) * sy, 1e-9)
          << c.size.width << "x" << c.size.height << " row " << u;
    }
    // Same filter scale as the full resize: the window spans 224 resized pixels.
    EXPECT_NEAR(w.width / 224, sx, 1e-12);
    EXPECT_NEAR(w.height / 224, sy, 1e-12);
    EXPECT_TRUE(Inside(w, c.size));
  }
}

TEST(EvalCrop, CropFractionOneCropsTheShorterSideWhole) {
  const CropWindow w = EvalCrop(640, 480, 224, 1.0);
  EXPECT_DOUBLE_EQ(w.y, 0.0);
  EXPECT_DOUBLE_EQ(w.height, 480.0);
  EXPECT_NEAR(w.x + w.width / 2, 320.0, 640.0 / 298);  // centred up to one resized pixel
}

}  // namespace
}  // namespace kubecnn::data

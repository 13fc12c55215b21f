// Tests of DecodeAndTransform against decode-everything-then-resize references on real photos.
#include "trainer/data/image_transform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_files.h"
#include "trainer/common/random.h"
#include "trainer/data/crop_sampler.h"
#include "trainer/data/image_resize.h"
#include "trainer/data/jpeg_decoder.h"

namespace kubecnn::data {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr int kSize = 224;
constexpr size_t kOutBytes = kSize * kSize * 3;

const char kImagenetDir[] = "jpeg-imagenet-samples";

std::vector<std::string> Photos() {
  const std::string dir = testing::TestdataPath(kImagenetDir);
  return testing::Exists(dir) ? testing::ListFiles(dir, ".JPEG") : std::vector<std::string>{};
}

#define SKIP_WITHOUT_PHOTOS(files) \
  KUBECNN_SKIP_IF((files).empty(), "no JPEGs under " << testing::TestdataPath(kImagenetDir))

Bytes ReadBytes(const std::string& path) {
  const std::string data = testing::ReadFile(path);
  return Bytes(data.begin(), data.end());
}

struct Whole {
  int width = 0;
  int height = 0;
  Bytes rgb;
  RgbView View() const { return RgbView{rgb.data(), width, height, static_cast<std::ptrdiff_t>(width) * 3}; }
};

// The reference path's first step: decode every pixel at full resolution.
Whole DecodeWhole(const Bytes& jpeg, bool fast_dct) {
  JpegDecoder decoder;
  JpegHeader header;
  EXPECT_TRUE(decoder.ReadHeader(jpeg, &header).ok());
  DecodedImage image;
  EXPECT_TRUE(
      decoder.DecodeRegion(PixelRegion{0, 0, header.width, header.height}, JpegDecodeOptions{1, fast_dct}, &image)
          .ok());
  Whole whole{image.width, image.height, {}};
  for (int y = 0; y < image.height; ++y) {
    whole.rgb.insert(whole.rgb.end(), image.pixels + y * image.stride,
                     image.pixels + y * image.stride + image.width * 3);
  }
  return whole;
}

Bytes Transform(const Bytes& jpeg, const TransformOptions& options, uint64_t seed,
                std::span<const BoundingBox> boxes = {}, TransformResult* result_out = nullptr) {
  Bytes out(kOutBytes);
  const TransformResult result = DecodeAndTransform(jpeg, boxes, options, seed, out.data());
  EXPECT_EQ(result.status, TransformStatus::kOk) << result.error;
  if (result_out != nullptr) *result_out = result;
  return out;
}

TransformOptions Train(bool dct_scaling, bool fast_dct) {
  TransformOptions options;
  options.train = true;
  options.dct_scaling = dct_scaling;
  options.fast_dct = fast_dct;
  return options;
}

TransformOptions Eval(bool dct_scaling, bool fast_dct) {
  TransformOptions options = Train(dct_scaling, fast_dct);
  options.train = false;
  return options;
}

int MaxDifference(const Bytes& a, const Bytes& b) {
  int worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

double MeanDifference(const Bytes& a, const Bytes& b) {
  double total = 0;
  for (size_t i = 0; i < a.size(); ++i) total += std::abs(a[i] - b[i]);
  return total / static_cast<double>(a.size());
}

TEST(DecodeAndTransform, SameSeedGivesSameBytesAndSeedsDiffer) {
  const auto files = Photos();
  SKIP_WITHOUT_PHOTOS(files);
  const Bytes jpeg = ReadBytes(files[0]);
  const Bytes first = Transform(jpeg, Train(true, true), 42);
  EXPECT_EQ(Transform(jpeg, Train(true, true), 42), first);
  EXPECT_NE(Transform(jpeg, Train(true, true), 43), first);
}

TEST(DecodeAndTransform, TrainEqualsCropOfWholeDecodeResizedWithTheSeededFlip) {
  // With plain upsampling a region decode is pixel-exact (jpeg_decoder_test), so the fast path must
  // equal: decode everything, take the crop SampleDistortedCrop(Rng(seed)) picks, flip if the next
  // draw of the same Rng says so, resize. With boxes too, where the crop must honour them.
  const auto files = Photos();
  SKIP_WITHOUT_PHOTOS(files);
  const std::vector<BoundingBox> boxes = {{0.6f, 0.6f, 0.9f, 0.95f}};
  int flips = 0;
  int cases = 0;
  for (size_t f = 0; f < files.size(); f += 50) {
    const Bytes jpeg = ReadBytes(files[f]);
    const Whole whole = DecodeWhole(jpeg, true);
    for (uint64_t seed = 0; seed < 10; ++seed) {
      const std::span<const BoundingBox> seed_boxes =
          seed % 2 == 0 ? std::span<const BoundingBox>{} : std::span<const BoundingBox>(boxes);
      const TransformOptions options = Train(false, true);
      Rng rng(seed);
      const CropWindow crop = SampleDistortedCrop(whole.width, whole.height, seed_boxes, options.crop, rng);
      const bool flip = rng.Bernoulli(0.5);
      const RgbView crop_view{
          whole.rgb.data() + (static_cast<size_t>(crop.y) * whole.width + static_cast<size_t>(crop.x)) * 3,
          static_cast<int>(crop.width), static_cast<int>(crop.height), whole.View().stride};
      Bytes expected(kOutBytes);
      ResizeRgb(crop_view, SourceRect{0, 0, crop.width, crop.height}, kSize, kSize, flip, expected.data());
      EXPECT_EQ(Transform(jpeg, options, seed, seed_boxes), expected) << files[f] << " seed " << seed;
      flips += flip;
      ++cases;
    }
  }
  EXPECT_GT(flips, cases / 4);
  EXPECT_LT(flips, cases * 3 / 4);
}

TEST(DecodeAndTransform, EvalEqualsResizeShorterSideThenCentreCrop) {
  // torchvision's eval transform done literally: decode, resize the whole image so the shorter side
  // is 256, crop the centre 224. DecodeAndTransform decodes only the window plus the filter's reach
  // and resamples once; the grid is the same, so the pixels agree up to one level (the two paths
  // compute the same sample positions in a different floating-point order).
  const auto files = Photos();
  SKIP_WITHOUT_PHOTOS(files);
  for (size_t f = 0; f < files.size(); f += 25) {
    const Bytes jpeg = ReadBytes(files[f]);
    const Whole whole = DecodeWhole(jpeg, false);
    const int shorter = std::min(whole.width, whole.height);
    const int longer = std::max(whole.width, whole.height);
    const auto resized_long = static_cast<int>(256.0 * longer / shorter);
    const int rw = whole.width <= whole.height ? 256 : resized_long;
    const int rh = whole.width <= whole.height ? resized_long : 256;
    Bytes resized(static_cast<size_t>(rw) * rh * 3);
    ResizeRgb(whole.View(), SourceRect{0, 0, static_cast<double>(whole.width), static_cast<double>(whole.height)}, rw,
              rh, false, resized.data());
    const int left = static_cast<int>(std::nearbyint((rw - kSize) / 2.0));
    const int top = static_cast<int>(std::nearbyint((rh - kSize) / 2.0));
    Bytes expected;
    for (int y = 0; y < kSize; ++y) {
      const uint8_t* row = &resized[(static_cast<size_t>(top + y) * rw + left) * 3];
      expected.insert(expected.end(), row, row + kSize * 3);
    }
    TransformResult result;
    const Bytes out = Transform(jpeg, Eval(false, false), 0, {}, &result);
    EXPECT_EQ(result.dct_scale_denom, 1);
    EXPECT_LE(MaxDifference(out, expected), 1) << files[f];
    EXPECT_LT(MeanDifference(out, expected), 0.01) << files[f];
  }
}

TEST(DecodeAndTransform, DctScalingEngagesOnLargeCropsAndKeepsTheSamplingGrid) {
  const auto files = Photos();
  SKIP_WITHOUT_PHOTOS(files);
  int large = 0;
  for (const std::string& file : files) {
    const Bytes jpeg = ReadBytes(file);
    TransformResult scaled;
    const Bytes with_dct = Transform(jpeg, Eval(true, false), 0, {}, &scaled);
    // The eval window spans 224/256 of the shorter side: 2 x 224 from 512 pixels up, 4 x 224 from 1024.
    const int shorter = std::min(scaled.source_width, scaled.source_height);
    EXPECT_EQ(scaled.dct_scale_denom, shorter >= 1024 ? 4 : shorter >= 512 ? 2 : 1) << file;
    if (scaled.dct_scale_denom == 1) continue;
    ++large;
    // Compare with full-resolution resampling of the same window, and of the window moved half a
    // pixel each way. The DCT-domain downscale replaces the first stage of the antialiasing filter,
    // so it never matches exactly (0.6 to 3.9 levels on average on these photos); but if it maps
    // the window right, the unmoved window is the closest match.
    const Whole whole = DecodeWhole(jpeg, false);
    const CropWindow window = EvalCrop(whole.width, whole.height, kSize, 0.875);
    auto mean_difference_at = [&](double dx, double dy) {
      Bytes reference(kOutBytes);
      ResizeRgb(whole.View(), SourceRect{window.x + dx, window.y + dy, window.width, window.height}, kSize, kSize,
                false, reference.data());
      return MeanDifference(with_dct, reference);
    };
    const double aligned = mean_difference_at(0, 0);
    EXPECT_LT(aligned, 5.0) << file;
    for (auto [dx, dy] : {std::pair{-0.5, 0.0}, {0.5, 0.0}, {0.0, -0.5}, {0.0, 0.5}}) {
      EXPECT_LT(aligned, mean_difference_at(dx, dy)) << file << " window moved by " << dx << "," << dy;
    }
  }
  EXPECT_GE(large, 3) << "the sample set should hold a few photos with a shorter side of 512+";
}

TEST(DecodeAndTransform, TrainCropsDecodedAtReducedScaleKeepTheSamplingGrid) {
  // Same check as above for train crops: without flips, the crop window resampled at full
  // resolution is the closest match to the output, closer than the window moved half a pixel.
  const auto files = Photos();
  SKIP_WITHOUT_PHOTOS(files);
  TransformOptions options = Train(true, false);
  options.random_flip = false;
  int scaled_crops = 0;
  JpegDecoder decoder;
  for (const std::string& file : files) {
    const Bytes jpeg = ReadBytes(file);
    JpegHeader header;
    ASSERT_TRUE(decoder.ReadHeader(jpeg, &header).ok());
    if (std::min(header.width, header.height) < 2 * kSize) continue;  // no crop can be scaled
    std::optional<Whole> whole;
    for (uint64_t seed = 0; seed < 8; ++seed) {
      TransformResult result;
      const Bytes out = Transform(jpeg, options, seed, {}, &result);
      if (result.dct_scale_denom == 1) continue;
      ++scaled_crops;
      if (!whole) whole = DecodeWhole(jpeg, false);
      Rng rng(seed);
      const CropWindow crop = SampleDistortedCrop(whole->width, whole->height, {}, options.crop, rng);
      EXPECT_GE(std::min(crop.width, crop.height), kSize * result.dct_scale_denom);
      auto mean_difference_at = [&](double dx, double dy) {
        Bytes reference(kOutBytes);
        ResizeRgb(whole->View(), SourceRect{crop.x + dx, crop.y + dy, crop.width, crop.height}, kSize, kSize, false,
                  reference.data());
        return MeanDifference(out, reference);
      };
      const double aligned = mean_difference_at(0, 0);
      EXPECT_LT(aligned, 5.0) << file << " seed " << seed;
      for (auto [dx, dy] : {std::pair{-0.5, 0.0}, {0.5, 0.0}, {0.0, -0.5}, {0.0, 0.5}}) {
        EXPECT_LT(aligned, mean_difference_at(dx, dy)) << file << " seed " << seed << " moved " << dx << "," << dy;
      }
    }
  }
  EXPECT_GE(scaled_crops, 5) << "large photos should give some crops of 448+ pixels a side";
}

TEST(DecodeAndTransform, GrayscalePhotosComeOutWithEqualChannels) {
  const std::string path = testing::TestdataPath(std::string(kImagenetDir) + "/n04532670_viaduct.JPEG");
  KUBECNN_SKIP_IF(!testing::Exists(path), path << " missing");
  const Bytes jpeg = ReadBytes(path);
  for (const TransformOptions& options : {Train(true, true), Eval(true, false)}) {
    const Bytes out = Transform(jpeg, options, 9);
    for (size_t i = 0; i < out.size(); i += 3) {
      ASSERT_EQ(out[i], out[i + 1]);
      ASSERT_EQ(out[i], out[i + 2]);
    }
  }
}

TEST(DecodeAndTransform, BadBytesReportStatusAndMessageInsteadOfThrowing) {
  Bytes out(kOutBytes);
  const Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  TransformResult result = DecodeAndTransform(png, {}, TransformOptions{}, 1, out.data());
  EXPECT_EQ(result.status, TransformStatus::kNotJpeg);
  EXPECT_NE(result.error.find("PNG"), std::string::npos) << result.error;

  const auto files = Photos();
  SKIP_WITHOUT_PHOTOS(files);
  const Bytes jpeg = ReadBytes(files[0]);
  const Bytes truncated(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 3));
  // Eval always decodes down to the centre, below a cut at a third of the file.
  result = DecodeAndTransform(truncated, {}, Eval(false, true), 1, out.data());
  EXPECT_EQ(result.status, TransformStatus::kCorruptJpeg);
  EXPECT_NE(result.error.find("Premature end"), std::string::npos) << result.error;
  EXPECT_GT(result.source_width, 0);
}

TEST(DecodeAndTransform, RejectsHeadersClaimingDecompressionBombSizes) {
  const auto files = Photos();
  SKIP_WITHOUT_PHOTOS(files);
  Bytes jpeg = ReadBytes(files[0]);
  // Patch the SOF0 frame header to claim 60000 x 60000 pixels.
  size_t i = 2;
  while (i + 9 < jpeg.size() && !(jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0)) i += 2 + (jpeg[i + 2] << 8 | jpeg[i + 3]);
  ASSERT_LT(i + 9, jpeg.size()) << "no SOF0 in " << files[0];
  jpeg[i + 5] = 60000 >> 8;
  jpeg[i + 6] = 60000 & 0xFF;
  jpeg[i + 7] = 60000 >> 8;
  jpeg[i + 8] = 60000 & 0xFF;
  Bytes out(kOutBytes);
  const TransformResult result = DecodeAndTransform(jpeg, {}, TransformOptions{}, 1, out.data());
  EXPECT_EQ(result.status, TransformStatus::kCorruptJpeg);
  EXPECT_NE(result.error.find("decompression-bomb"), std::string::npos) << result.error;
}

}  // namespace
}  // namespace kubecnn::data

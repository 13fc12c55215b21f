// Tests of JpegDecoder on real photographs and generated CMYK/progressive JPEGs, good and broken.
#include "trainer/data/jpeg_decoder.h"

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/test_files.h"
#include "trainer/common/random.h"

namespace kubecnn::data {
namespace {

using Bytes = std::vector<uint8_t>;

const char kImagenetDir[] = "jpeg-imagenet-samples";
const char kCocoDir[] = "jpeg-dali-coco-dummy/images";

Bytes ReadBytes(const std::string& path) {
  const std::string data = testing::ReadFile(path);
  return Bytes(data.begin(), data.end());
}

// The JPEGs of a testdata folder, or empty when the folder is missing.
std::vector<std::string> Photos(const char* dir) {
  const std::string path = testing::TestdataPath(dir);
  if (!testing::Exists(path)) return {};
  std::vector<std::string> files = testing::ListFiles(path, ".JPEG");
  for (const auto& f : testing::ListFiles(path, ".jpeg")) files.push_back(f);
  return files;
}

#define SKIP_IF_EMPTY(files, dir) \
  KUBECNN_SKIP_IF((files).empty(), "no JPEGs under " << testing::TestdataPath(dir) << " (../shared/testdata missing?)")

// A decoded image copied out of the decoder's buffer.
struct Rgb {
  int width = 0;
  int height = 0;
  Bytes pixels;
  int At(int x, int y, int c) const { return pixels[(static_cast<size_t>(y) * width + x) * 3 + c]; }
};

Rgb Copy(const DecodedImage& image) {
  Rgb rgb{image.width, image.height, {}};
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* row = image.pixels + y * image.stride;
    rgb.pixels.insert(rgb.pixels.end(), row, row + image.width * 3);
  }
  return rgb;
}

// Decodes `region` (whole image when width == 0) and fails the test on any error.
Rgb Decode(JpegDecoder& decoder, const Bytes& jpeg, PixelRegion region, JpegDecodeOptions options,
           JpegHeader* header_out = nullptr) {
  JpegHeader header;
  const JpegResult read = decoder.ReadHeader(jpeg, &header);
  EXPECT_TRUE(read.ok()) << read.error;
  if (region.width == 0) {
    region = PixelRegion{0, 0, ScaledJpegSize(header.width, options.scale_denom),
                         ScaledJpegSize(header.height, options.scale_denom)};
  }
  DecodedImage image;
  const JpegResult decoded = decoder.DecodeRegion(region, options, &image);
  EXPECT_TRUE(decoded.ok()) << decoded.error;
  if (header_out != nullptr) *header_out = header;
  return decoded.ok() ? Copy(image) : Rgb{};
}

// Status of a whole-image decode; never fails the test by itself.
JpegResult TryDecodeWhole(JpegDecoder& decoder, const Bytes& jpeg) {
  JpegHeader header;
  JpegResult result = decoder.ReadHeader(jpeg, &header);
  if (!result.ok()) return result;
  DecodedImage image;
  return decoder.DecodeRegion(PixelRegion{0, 0, header.width, header.height}, JpegDecodeOptions{}, &image);
}

constexpr JpegDecodeOptions kExact{1, false};
constexpr JpegDecodeOptions kFast{1, true};

TEST(JpegDecoder, ReadsSizeAndColourSpaceOfRealPhotos) {
  const std::string path = testing::TestdataPath(std::string(kImagenetDir) + "/n01440764_tench.JPEG");
  KUBECNN_SKIP_IF(!testing::Exists(path), path << " missing");
  JpegDecoder decoder;
  JpegHeader header;
  ASSERT_TRUE(decoder.ReadHeader(ReadBytes(path), &header).ok());
  EXPECT_EQ(header.width, 500);
  EXPECT_EQ(header.height, 375);
  EXPECT_EQ(header.components, 3);
  EXPECT_EQ(header.color_space, JpegColorSpace::kYCbCr);
  EXPECT_FALSE(header.progressive);
}

TEST(JpegDecoder, DecodesEveryTestPhotoWholeWithOneReusedDecoder) {
  std::vector<std::string> files = Photos(kImagenetDir);
  SKIP_IF_EMPTY(files, kImagenetDir);
  for (const auto& f : Photos(kCocoDir)) files.push_back(f);
  JpegDecoder decoder;
  for (const std::string& file : files) {
    const Bytes jpeg = ReadBytes(file);
    for (JpegDecodeOptions options : {kExact, kFast}) {
      JpegHeader header;
      const Rgb rgb = Decode(decoder, jpeg, {}, options, &header);
      ASSERT_EQ(rgb.width, header.width) << file;
      ASSERT_EQ(rgb.height, header.height) << file;
    }
  }
}

TEST(JpegDecoder, GrayscalePhotosComeOutAsRgbWithEqualChannels) {
  const std::vector<std::string> files = Photos(kImagenetDir);
  SKIP_IF_EMPTY(files, kImagenetDir);
  JpegDecoder decoder;
  std::vector<std::string> gray_names;
  for (const std::string& file : files) {
    const Bytes jpeg = ReadBytes(file);
    JpegHeader header;
    ASSERT_TRUE(decoder.ReadHeader(jpeg, &header).ok()) << file;
    if (header.color_space != JpegColorSpace::kGray) continue;
    EXPECT_EQ(header.components, 1);
    gray_names.push_back(file.substr(file.rfind('/') + 1));
    for (JpegDecodeOptions options : {kExact, JpegDecodeOptions{2, true}}) {
      const Rgb rgb = Decode(decoder, jpeg, {}, options);
      ASSERT_FALSE(rgb.pixels.empty());
      bool some_detail = false;
      for (size_t i = 0; i < rgb.pixels.size(); i += 3) {
        ASSERT_EQ(rgb.pixels[i], rgb.pixels[i + 1]) << file;
        ASSERT_EQ(rgb.pixels[i], rgb.pixels[i + 2]) << file;
        some_detail |= rgb.pixels[i] != rgb.pixels[0];
      }
      EXPECT_TRUE(some_detail) << file;
    }
  }
  // The testdata notes list exactly these four grayscale ImageNet samples.
  EXPECT_EQ(gray_names, (std::vector<std::string>{"n04008634_projectile.JPEG", "n04090263_rifle.JPEG",
                                                  "n04372370_switch.JPEG", "n04532670_viaduct.JPEG"}));
}

// How `region` decoded alone differs from the same pixels of a whole decode, split into the
// region's outermost column on each side and the rest.
struct RegionDiff {
  int interior_max = 0;
  int edge_max = 0;
  double edge_mean = 0.0;
};

RegionDiff CompareRegionWithWhole(JpegDecoder& decoder, const Bytes& jpeg, const PixelRegion& region,
                                  JpegDecodeOptions options) {
  const Rgb whole = Decode(decoder, jpeg, {}, options);
  const Rgb part = Decode(decoder, jpeg, region, options);
  EXPECT_EQ(part.width, region.width);
  EXPECT_EQ(part.height, region.height);
  if (part.width != region.width || part.height != region.height) return RegionDiff{999, 999, 999.0};
  RegionDiff diff;
  int64_t edge_total = 0;
  int64_t edge_count = 0;
  for (int y = 0; y < region.height; ++y) {
    for (int x = 0; x < region.width; ++x) {
      const bool edge = x == 0 || x == region.width - 1;
      for (int c = 0; c < 3; ++c) {
        const int d = std::abs(part.At(x, y, c) - whole.At(region.x + x, region.y + y, c));
        if (edge) {
          diff.edge_max = std::max(diff.edge_max, d);
          edge_total += d;
          ++edge_count;
        } else {
          diff.interior_max = std::max(diff.interior_max, d);
        }
      }
    }
  }
  diff.edge_mean = static_cast<double>(edge_total) / static_cast<double>(edge_count);
  return diff;
}

// libjpeg.txt ("Partial image decompression"): fancy (smooth) h2v1/h2v2 chroma upsampling may
// treat the left/right edge of a cropped region as the image's edge, so the outermost column
// there gets its own chroma sample instead of 3/4 own + 1/4 neighbour. That moves a chroma value
// by at most a quarter of a 255 step, i.e. up to 1.772 * 64 ~ 113 levels of blue; on photographs
// it is a few levels on average. Plain (merged) upsampling has no such neighbour term.
constexpr int kFancyEdgeBound = 113;
constexpr double kFancyEdgeMeanBound = 1.0;

TEST(JpegDecoder, RegionDecodeEqualsTheSameWindowOfAWholeDecode) {
  std::vector<std::string> files = Photos(kImagenetDir);
  SKIP_IF_EMPTY(files, kImagenetDir);
  JpegDecoder decoder;
  Rng rng(5);
  int compared = 0;
  for (size_t i = 0; i < files.size(); i += 5) {  // 50 photos: 4:4:4, 4:2:0, 4:2:2 and gray
    const Bytes jpeg = ReadBytes(files[i]);
    JpegHeader header;
    ASSERT_TRUE(decoder.ReadHeader(jpeg, &header).ok());
    for (int trial = 0; trial < 3; ++trial) {
      // Unaligned offsets and sizes, including regions touching the right and bottom edges.
      const int w = 1 + static_cast<int>(rng.Below(header.width));
      const int h = 1 + static_cast<int>(rng.Below(header.height));
      const int x = trial == 2 ? header.width - w : static_cast<int>(rng.Below(header.width - w + 1));
      const int y = trial == 2 ? header.height - h : static_cast<int>(rng.Below(header.height - h + 1));
      const PixelRegion region{x, y, w, h};
      for (JpegDecodeOptions options : {kExact, kFast}) {
        const RegionDiff diff = CompareRegionWithWhole(decoder, jpeg, region, options);
        // Skipped rows and cropped columns change nothing inside the region.
        const std::string where = files[i] + " region " + std::to_string(w) + "x" + std::to_string(h) + "+" +
                                  std::to_string(x) + "+" + std::to_string(y);
        EXPECT_EQ(diff.interior_max, 0) << where << " fast " << options.fast_dct;
        if (options.fast_dct) {
          EXPECT_EQ(diff.edge_max, 0) << where;
        } else {
          EXPECT_LE(diff.edge_max, kFancyEdgeBound) << where;
          EXPECT_LE(diff.edge_mean, kFancyEdgeMeanBound) << where;
        }
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 300);
}

TEST(JpegDecoder, HalfScaleDecodeApproximatesAWholeDecodeAveragedTwoByTwo) {
  const std::vector<std::string> files = Photos(kImagenetDir);
  SKIP_IF_EMPTY(files, kImagenetDir);
  JpegDecoder decoder;
  for (size_t i = 0; i < files.size(); i += 25) {
    const Bytes jpeg = ReadBytes(files[i]);
    const Rgb whole = Decode(decoder, jpeg, {}, kExact);
    const Rgb half = Decode(decoder, jpeg, {}, JpegDecodeOptions{2, false});
    ASSERT_EQ(half.width, (whole.width + 1) / 2);
    ASSERT_EQ(half.height, (whole.height + 1) / 2);
    double total = 0;
    int count = 0;
    for (int y = 0; y < whole.height / 2; ++y) {
      for (int x = 0; x < whole.width / 2; ++x) {
        for (int c = 0; c < 3; ++c) {
          const int box = (whole.At(2 * x, 2 * y, c) + whole.At(2 * x + 1, 2 * y, c) + whole.At(2 * x, 2 * y + 1, c) +
                           whole.At(2 * x + 1, 2 * y + 1, c) + 2) /
                          4;
          total += std::abs(half.At(x, y, c) - box);
          ++count;
        }
      }
    }
    // The DCT-domain downscale keeps the low frequencies a box filter keeps; they differ in the
    // highest ones only, so on photos the mean difference is a couple of levels.
    EXPECT_LT(total / count, 3.0) << files[i];
  }
}

// Encodes `rgb` (width x height) as a CMYK JPEG the way Adobe software stores it: inverted inks
// (255 = no ink), with an Adobe APP14 marker (TurboJPEG writes it as YCCK).
Bytes EncodeAdobeCmyk(const Bytes& rgb, int width, int height) {
  Bytes inverted_cmyk;
  for (size_t i = 0; i < rgb.size(); i += 3) {
    const int k = 255 - std::max({rgb[i], rgb[i + 1], rgb[i + 2]});
    for (int c = 0; c < 3; ++c) {
      const int ink = k == 255 ? 0 : (255 - rgb[i + c] - k) * 255 / (255 - k);
      inverted_cmyk.push_back(static_cast<uint8_t>(255 - ink));
    }
    inverted_cmyk.push_back(static_cast<uint8_t>(255 - k));
  }
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, inverted_cmyk.data(), width, 0, height, TJPF_CMYK, &out, &size, TJSAMP_444, 95, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  Bytes jpeg(out, out + size);
  tjFree(out);
  tjDestroy(handle);
  return jpeg;
}

// Encodes plain (non-inverted) CMYK with libjpeg and no Adobe marker, as some non-Adobe tools do.
Bytes EncodePlainCmyk(const Bytes& rgb, int width, int height) {
  Bytes cmyk;
  for (size_t i = 0; i < rgb.size(); i += 3) {
    const int k = 255 - std::max({rgb[i], rgb[i + 1], rgb[i + 2]});
    for (int c = 0; c < 3; ++c)
      cmyk.push_back(static_cast<uint8_t>(k == 255 ? 0 : (255 - rgb[i + c] - k) * 255 / (255 - k)));
    cmyk.push_back(static_cast<uint8_t>(k));
  }
  jpeg_compress_struct cinfo;
  jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &out, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, JCS_CMYK);
  cinfo.write_Adobe_marker = FALSE;
  jpeg_set_quality(&cinfo, 95, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = &cmyk[static_cast<size_t>(cinfo.next_scanline) * width * 4];
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Bytes jpeg(out, out + size);
  std::free(out);
  return jpeg;
}

// 64 x 64 with four flat quadrants: red, green, blue, and a mid grey-brown.
Bytes Quadrants() {
  Bytes rgb;
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      const int q = (y >= 32) * 2 + (x >= 32);
      const uint8_t colours[4][3] = {{220, 30, 20}, {20, 200, 40}, {30, 40, 210}, {140, 110, 80}};
      rgb.insert(rgb.end(), colours[q], colours[q] + 3);
    }
  }
  return rgb;
}

void ExpectColoursRoundTrip(const Bytes& jpeg, const Bytes& rgb, JpegColorSpace space, bool adobe) {
  JpegDecoder decoder;
  JpegHeader header;
  ASSERT_TRUE(decoder.ReadHeader(jpeg, &header).ok());
  EXPECT_EQ(header.components, 4);
  EXPECT_EQ(header.color_space, space);
  EXPECT_EQ(header.adobe_marker, adobe);
  for (JpegDecodeOptions options : {kExact, kFast}) {
    const Rgb decoded = Decode(decoder, jpeg, {}, options);
    ASSERT_EQ(decoded.pixels.size(), rgb.size());
    // Quadrant centres, away from the blocks that straddle a colour edge.
    for (auto [x, y] : {std::pair{16, 16}, {48, 16}, {16, 48}, {48, 48}}) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_NEAR(decoded.At(x, y, c), rgb[(y * 64 + x) * 3 + c], 6) << x << "," << y << " channel " << c;
      }
    }
  }
}

TEST(JpegDecoder, AdobeInvertedCmykComesBackAsTheOriginalRgb) {
  const Bytes rgb = Quadrants();
  ExpectColoursRoundTrip(EncodeAdobeCmyk(rgb, 64, 64), rgb, JpegColorSpace::kYcck, true);
}

TEST(JpegDecoder, PlainCmykWithoutAdobeMarkerComesBackAsTheOriginalRgb) {
  const Bytes rgb = Quadrants();
  ExpectColoursRoundTrip(EncodePlainCmyk(rgb, 64, 64), rgb, JpegColorSpace::kCmyk, false);
}

TEST(JpegDecoder, ProgressiveJpegRegionMatchesWholeDecode) {
  const std::vector<std::string> files = Photos(kImagenetDir);
  SKIP_IF_EMPTY(files, kImagenetDir);
  // Re-encode a real photo as progressive 4:2:0.
  JpegDecoder decoder;
  const Rgb source = Decode(decoder, ReadBytes(files[0]), {}, kExact);
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  ASSERT_EQ(tjCompress2(handle, source.pixels.data(), source.width, 0, source.height, TJPF_RGB, &out, &size, TJSAMP_420,
                        90, TJFLAG_PROGRESSIVE),
            0);
  const Bytes jpeg(out, out + size);
  tjFree(out);
  tjDestroy(handle);
  JpegHeader header;
  ASSERT_TRUE(decoder.ReadHeader(jpeg, &header).ok());
  EXPECT_TRUE(header.progressive);
  const RegionDiff diff = CompareRegionWithWhole(decoder, jpeg, PixelRegion{37, 51, 200, 150}, kExact);
  EXPECT_EQ(diff.interior_max, 0);
  EXPECT_LE(diff.edge_max, kFancyEdgeBound);
  EXPECT_LE(diff.edge_mean, kFancyEdgeMeanBound);
}

TEST(JpegDecoder, NonJpegBytesAreNotJpeg) {
  const std::vector<Bytes> cases = {
      {},
      {0xFF},
      {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13},
      {'G', 'I', 'F', '8', '9', 'a'},
      {0xD8, 0xFF, 0xE0},
  };
  JpegDecoder decoder;
  for (const Bytes& bytes : cases) {
    JpegHeader header;
    const JpegResult result = decoder.ReadHeader(bytes, &header);
    EXPECT_EQ(result.status, JpegStatus::kNotJpeg);
    EXPECT_NE(result.error.find("not a JPEG"), std::string::npos) << result.error;
  }
  JpegHeader header;
  EXPECT_NE(decoder.ReadHeader(cases[2], &header).error.find("PNG"), std::string::npos);
}

TEST(JpegDecoder, GarbageAfterSoiIsCorrupt) {
  Bytes bytes = {0xFF, 0xD8};
  Rng rng(11);
  for (int i = 0; i < 4000; ++i) bytes.push_back(static_cast<uint8_t>(rng.Below(256)));
  JpegDecoder decoder;
  const JpegResult result = TryDecodeWhole(decoder, bytes);
  EXPECT_EQ(result.status, JpegStatus::kCorrupt);
  EXPECT_FALSE(result.error.empty());
}

TEST(JpegDecoder, TruncatedPhotoIsCorruptWhereverItIsCut) {
  const std::string path = testing::TestdataPath(std::string(kImagenetDir) + "/n01440764_tench.JPEG");
  KUBECNN_SKIP_IF(!testing::Exists(path), path << " missing");
  const Bytes jpeg = ReadBytes(path);
  JpegDecoder decoder;
  // Cuts inside the headers fail while reading them; cuts in the scan make libjpeg warn "Premature
  // end of JPEG file" and pad with grey, which the decoder reports as corrupt instead.
  for (size_t cut : {size_t{2}, size_t{20}, size_t{300}, jpeg.size() / 10, jpeg.size() / 2, jpeg.size() * 9 / 10,
                     jpeg.size() - 100}) {
    const Bytes truncated(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(cut));
    const JpegResult result = TryDecodeWhole(decoder, truncated);
    EXPECT_EQ(result.status, JpegStatus::kCorrupt) << "cut at " << cut << " of " << jpeg.size();
    EXPECT_FALSE(result.error.empty());
  }
  const Bytes half(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2));
  EXPECT_NE(TryDecodeWhole(decoder, half).error.find("Premature end"), std::string::npos)
      << TryDecodeWhole(decoder, half).error;
  // Every cut point, coarsely: never a crash, never kOk with invented pixels.
  for (size_t cut = 0; cut + 2 < jpeg.size(); cut += 997) {
    const Bytes truncated(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_NE(TryDecodeWhole(decoder, truncated).status, JpegStatus::kOk) << "cut at " << cut;
  }
}

TEST(JpegDecoder, RegionAboveATruncationStillDecodes) {
  // Rows below the region are never read, so damage there is invisible to this decode: the
  // documented trade-off of stopping early.
  const std::string path = testing::TestdataPath(std::string(kImagenetDir) + "/n01440764_tench.JPEG");
  KUBECNN_SKIP_IF(!testing::Exists(path), path << " missing");
  const Bytes jpeg = ReadBytes(path);
  const Bytes truncated(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 3 / 4));
  JpegDecoder decoder;
  const Rgb top = Decode(decoder, truncated, PixelRegion{0, 0, 500, 64}, kExact);
  const Rgb reference = Decode(decoder, jpeg, PixelRegion{0, 0, 500, 64}, kExact);
  EXPECT_EQ(top.pixels, reference.pixels);
}

TEST(JpegDecoder, RecoversAfterACorruptImage) {
  const std::string path = testing::TestdataPath(std::string(kImagenetDir) + "/n01440764_tench.JPEG");
  KUBECNN_SKIP_IF(!testing::Exists(path), path << " missing");
  const Bytes jpeg = ReadBytes(path);
  JpegDecoder fresh;
  const Rgb expected = Decode(fresh, jpeg, {}, kFast);
  JpegDecoder reused;
  const Bytes truncated(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 3));
  ASSERT_EQ(TryDecodeWhole(reused, truncated).status, JpegStatus::kCorrupt);
  JpegHeader header;
  ASSERT_TRUE(reused.ReadHeader(jpeg, &header).ok());  // header read, never decoded
  EXPECT_EQ(Decode(reused, jpeg, {}, kFast).pixels, expected.pixels);
}

TEST(ScaledJpegSize, RoundsUpLikeLibjpeg) {
  EXPECT_EQ(ScaledJpegSize(500, 1), 500);
  EXPECT_EQ(ScaledJpegSize(500, 2), 250);
  EXPECT_EQ(ScaledJpegSize(375, 2), 188);
  EXPECT_EQ(ScaledJpegSize(375, 8), 47);
  EXPECT_EQ(ScaledJpegSize(1, 8), 1);
}

TEST(ChooseDctScaleDenom, PicksTheLargestDownscaleThatKeepsTheCropAtLeastTheOutput) {
  struct Case {
    double width, height;
    int expected;
  };
  const std::vector<Case> cases = {
      {500, 375, 1},     // under 2x224 in height
      {447.9, 1000, 1},  // just under 2x in width
      {448, 448, 2},    {895, 2000, 2},   {896, 896, 4}, {1792, 1791, 4},
      {1792, 1792, 8},  {10000, 9000, 8}, {100, 100, 1},  // upscaling
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ChooseDctScaleDenom(c.width, c.height, 224, 224), c.expected) << c.width << "x" << c.height;
  }
}

}  // namespace
}  // namespace kubecnn::data

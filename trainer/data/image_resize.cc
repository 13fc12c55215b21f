// Separable fixed-point triangle-filter resampling with PIL's antialiasing rules.
#include "trainer/data/image_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kubecnn::data {
namespace {

// Q14 weights: a pixel (8 bits) times a weight fits a 16x16->32-bit multiply, which SSE2 has.
constexpr int kWeightBits = 14;
constexpr int kWeightOne = 1 << kWeightBits;
constexpr int32_t kRoundHalf = 1 << (kWeightBits - 1);

// For each output pixel along one axis: its first source pixel and its fixed-point weights.
struct AxisTaps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int16_t> weights;  // one row of `stride` weights per output pixel
  // The same weights two by two, (w[2j] | w[2j+1] << 16), zero-padded: the operand of a
  // multiply-add of two taps at once. One row of `pair_stride` per output pixel.
  std::vector<int32_t> pairs;
  std::vector<double> real_weights;
  int stride = 0;
  int pair_stride = 0;
};

// The per-thread buffers, grown to the largest call seen and then reused.
struct Scratch {
  AxisTaps columns;
  AxisTaps rows;
  std::vector<uint8_t> vertical;  // the vertical pass's output: out_height rows of the column span
  // The horizontal pass's taps in output order (flip applied), every pixel padded to the same
  // number of weight pairs so that its inner loop has a fixed trip count.
  std::vector<int> row_offsets;        // byte offset of each output pixel's first tap in a row
  std::vector<int32_t> ordered_pairs;  // `row_pairs` weight pairs per output pixel
  int row_pairs = 0;
};

double Triangle(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

uint8_t ToByte(int32_t accumulator) { return static_cast<uint8_t>(std::clamp(accumulator >> kWeightBits, 0, 255)); }

// PIL's precompute_coeffs for the bilinear filter: output pixel i samples around
// start + (i + 0.5) * scale with a triangle stretched by max(scale, 1), clamped to [0, in_size).
// The quantised weights of each pixel sum to exactly kWeightOne, and zero weights at either end are
// dropped, so identity geometry yields a single weight of one.
void ComputeAxisTaps(int in_size, double start, double length, int out_size, AxisTaps* taps) {
  const double scale = length / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's support is 1 before stretching
  const int max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps->stride = max_taps;
  taps->first.resize(out_size);
  taps->count.resize(out_size);
  taps->weights.assign(static_cast<size_t>(out_size) * max_taps, 0);
  taps->pair_stride = (max_taps + 1) / 2;
  taps->pairs.assign(static_cast<size_t>(out_size) * taps->pair_stride, 0);
  taps->real_weights.resize(max_taps);

  for (int i = 0; i < out_size; ++i) {
    const double center = start + (i + 0.5) * scale;
    // Truncation toward zero, then clamping, exactly as PIL does.
    int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    int n = hi - lo;
    double sum = 0.0;
    for (int k = 0; k < n; ++k) {
      taps->real_weights[k] = Triangle((lo + k - center + 0.5) / filter_scale);
      sum += taps->real_weights[k];
    }
    if (n <= 0 || !(sum > 0.0)) {
      // The sample point lies outside the view: repeat the nearest edge pixel.
      lo = std::clamp(static_cast<int>(std::floor(center)), 0, in_size - 1);
      n = 1;
      taps->real_weights[0] = sum = 1.0;
    }
    int16_t* weights = &taps->weights[static_cast<size_t>(i) * max_taps];
    int total = 0;
    int largest = 0;
    for (int k = 0; k < n; ++k) {
      weights[k] = static_cast<int16_t>(std::lround(taps->real_weights[k] / sum * kWeightOne));
      total += weights[k];
      if (weights[k] > weights[largest]) largest = k;
    }
    weights[largest] = static_cast<int16_t>(weights[largest] + kWeightOne - total);
    int begin = 0;
    while (weights[begin] == 0) ++begin;  // terminates: weights[largest] > 0
    int end = n;
    while (weights[end - 1] == 0) --end;
    if (begin > 0) std::copy(weights + begin, weights + end, weights);
    std::fill(weights + (end - begin), weights + max_taps, int16_t{0});
    taps->first[i] = lo + begin;
    taps->count[i] = end - begin;
    int32_t* pairs = &taps->pairs[static_cast<size_t>(i) * taps->pair_stride];
    for (int k = 0; k < taps->count[i]; k += 2) {
      const int next = k + 1 < taps->count[i] ? weights[k + 1] : 0;
      pairs[k / 2] = static_cast<int32_t>(static_cast<uint16_t>(weights[k]) | (static_cast<uint32_t>(next) << 16));
    }
  }
}

// Scalar vertical pass over bytes [begin, end) of one output row (the whole row without SSE2).
void FilterColumnsScalar(const uint8_t* source, std::ptrdiff_t stride, const int16_t* weights, int taps, int begin,
                         int end, uint8_t* out) {
  for (int i = begin; i < end; ++i) {
    int32_t acc = kRoundHalf;
    for (int k = 0; k < taps; ++k) acc += source[k * stride + i] * weights[k];
    out[i] = ToByte(acc);
  }
}

// One output row of the vertical pass: `span_bytes` bytes, each a weighted sum down `taps` rows
// starting at `source`.
void FilterColumns(const uint8_t* source, std::ptrdiff_t stride, const int16_t* weights, const int32_t* pairs, int taps,
                   int span_bytes, uint8_t* out) {
  int done = 0;
#if defined(__SSE2__)
  // 16 bytes at a time; two source rows are interleaved so that one multiply-add (pmaddwd) applies
  // two taps to four bytes, with 32-bit sums.
  const __m128i zero = _mm_setzero_si128();
  const __m128i half = _mm_set1_epi32(kRoundHalf);
  for (; done + 16 <= span_bytes; done += 16) {
    __m128i sum0 = half, sum1 = half, sum2 = half, sum3 = half;
    for (int k = 0; k < taps; k += 2) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + k * stride + done));
      const __m128i b =
          k + 1 < taps ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + (k + 1) * stride + done)) : zero;
      const __m128i pair = _mm_set1_epi32(pairs[k / 2]);
      const __m128i lo = _mm_unpacklo_epi8(a, b);
      const __m128i hi = _mm_unpackhi_epi8(a, b);
      sum0 = _mm_add_epi32(sum0, _mm_madd_epi16(_mm_unpacklo_epi8(lo, zero), pair));
      sum1 = _mm_add_epi32(sum1, _mm_madd_epi16(_mm_unpackhi_epi8(lo, zero), pair));
      sum2 = _mm_add_epi32(sum2, _mm_madd_epi16(_mm_unpacklo_epi8(hi, zero), pair));
      sum3 = _mm_add_epi32(sum3, _mm_madd_epi16(_mm_unpackhi_epi8(hi, zero), pair));
    }
    const __m128i words0 = _mm_packs_epi32(_mm_srai_epi32(sum0, kWeightBits), _mm_srai_epi32(sum1, kWeightBits));
    const __m128i words1 = _mm_packs_epi32(_mm_srai_epi32(sum2, kWeightBits), _mm_srai_epi32(sum3, kWeightBits));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + done), _mm_packus_epi16(words0, words1));
  }
#else
  (void)pairs;
#endif
  FilterColumnsScalar(source, stride, weights, taps, done, span_bytes, out);
}

// Lays the column taps out in output order for FilterRow: flipping only changes which taps each
// output pixel uses, and pixels with fewer taps get zero-weight pairs.
void OrderColumnTaps(const AxisTaps& columns, int row_origin, int out_width, bool flip, Scratch* scratch) {
  int row_pairs = 1;
  for (int x = 0; x < out_width; ++x) row_pairs = std::max(row_pairs, (columns.count[x] + 1) / 2);
  scratch->row_pairs = row_pairs;
  scratch->row_offsets.resize(out_width);
  scratch->ordered_pairs.assign(static_cast<size_t>(out_width) * row_pairs, 0);
  for (int o = 0; o < out_width; ++o) {
    const int x = flip ? out_width - 1 - o : o;
    scratch->row_offsets[o] = (columns.first[x] - row_origin) * 3;
    std::copy_n(&columns.pairs[static_cast<size_t>(x) * columns.pair_stride], (columns.count[x] + 1) / 2,
                &scratch->ordered_pairs[static_cast<size_t>(o) * row_pairs]);
  }
}

// Bytes the horizontal pass may read past the end of the vertical pass's buffer: up to
// `row_pairs` pairs of 6 bytes from the last pixel's first tap, read 8 bytes at a time.
size_t RowSlack(int row_pairs) { return static_cast<size_t>(6 * row_pairs + 8); }

#if defined(__SSE2__)
// One output row of the horizontal pass, kPairs weight pairs per pixel (0: `row_pairs` of them).
// Two taps per multiply-add: 8 bytes r0 g0 b0 r1 g1 b1 . . widened to 16 bits and interleaved with
// themselves shifted by one pixel give (r0 r1 g0 g1 b0 b1 . .), the pmaddwd operand for the weight
// pair (w0 w1). Stores 4 bytes per pixel, the 4th overwritten by the next pixel, except the last.
template <int kPairs>
void FilterRow(const uint8_t* row, const int* offsets, const int32_t* ordered_pairs, int row_pairs, int out_width,
               uint8_t* out) {
  const int pairs_per_pixel = kPairs > 0 ? kPairs : row_pairs;
  const __m128i zero = _mm_setzero_si128();
  const __m128i half = _mm_set1_epi32(kRoundHalf);
  for (int o = 0; o < out_width; ++o) {
    const uint8_t* pixel = row + offsets[o];
    const int32_t* pairs = ordered_pairs + static_cast<size_t>(o) * pairs_per_pixel;
    __m128i sum = half;
    for (int j = 0; j < pairs_per_pixel; ++j) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(pixel + 6 * j));
      const __m128i words = _mm_unpacklo_epi8(bytes, zero);
      const __m128i pairs_rgb = _mm_unpacklo_epi16(words, _mm_srli_si128(words, 6));
      sum = _mm_add_epi32(sum, _mm_madd_epi16(pairs_rgb, _mm_set1_epi32(pairs[j])));
    }
    const __m128i words = _mm_packs_epi32(_mm_srai_epi32(sum, kWeightBits), zero);
    const auto rgbx = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm_packus_epi16(words, zero)));
    if (o + 1 < out_width) {
      std::memcpy(out + 3 * o, &rgbx, 4);
    } else {
      std::memcpy(out + 3 * o, &rgbx, 3);
    }
  }
}
#endif

// One output row of the horizontal pass, from the taps OrderColumnTaps laid out.
void FilterRow(const uint8_t* row, const Scratch& scratch, int out_width, uint8_t* out) {
  const int* offsets = scratch.row_offsets.data();
  const int32_t* pairs = scratch.ordered_pairs.data();
  const int row_pairs = scratch.row_pairs;
#if defined(__SSE2__)
  switch (row_pairs) {  // up to 4 pairs covers scale factors below 3.5
    case 1: return FilterRow<1>(row, offsets, pairs, row_pairs, out_width, out);
    case 2: return FilterRow<2>(row, offsets, pairs, row_pairs, out_width, out);
    case 3: return FilterRow<3>(row, offsets, pairs, row_pairs, out_width, out);
    case 4: return FilterRow<4>(row, offsets, pairs, row_pairs, out_width, out);
    default: return FilterRow<0>(row, offsets, pairs, row_pairs, out_width, out);
  }
#else
  for (int o = 0; o < out_width; ++o) {
    const uint8_t* pixel = row + offsets[o];
    int32_t sum[3] = {kRoundHalf, kRoundHalf, kRoundHalf};
    for (int j = 0; j < row_pairs; ++j) {
      const int32_t pair = pairs[static_cast<size_t>(o) * row_pairs + j];
      const auto w0 = static_cast<int16_t>(pair & 0xFFFF);
      const auto w1 = static_cast<int16_t>(pair >> 16);
      for (int c = 0; c < 3; ++c) {
        sum[c] += pixel[6 * j + c] * w0 + (w1 != 0 ? pixel[6 * j + 3 + c] * w1 : 0);
      }
    }
    for (int c = 0; c < 3; ++c) out[3 * o + c] = ToByte(sum[c]);
  }
#endif
}

}  // namespace

void ResizeRgb(const RgbView& source, const SourceRect& rect, int out_width, int out_height, bool flip_horizontal,
               uint8_t* out) {
  thread_local Scratch scratch;
  ComputeAxisTaps(source.width, rect.x, rect.width, out_width, &scratch.columns);
  ComputeAxisTaps(source.height, rect.y, rect.height, out_height, &scratch.rows);

  // Vertical pass first, over only the columns some output pixel reads: it runs 16 bytes at a time
  // however the pixels fall, and leaves the costlier per-pixel horizontal pass just out_height rows
  // (rather than the crop's height when downscaling).
  const AxisTaps& columns = scratch.columns;
  int span_begin = columns.first[0];
  int span_end = columns.first[0] + columns.count[0];
  for (int x = 1; x < out_width; ++x) {
    span_begin = std::min(span_begin, columns.first[x]);
    span_end = std::max(span_end, columns.first[x] + columns.count[x]);
  }
  const int span_bytes = (span_end - span_begin) * 3;
  OrderColumnTaps(columns, span_begin, out_width, flip_horizontal, &scratch);
  scratch.vertical.resize(static_cast<size_t>(span_bytes) * out_height + RowSlack(scratch.row_pairs));
  const AxisTaps& rows = scratch.rows;
  for (int y = 0; y < out_height; ++y) {
    FilterColumns(source.data + rows.first[y] * source.stride + span_begin * 3, source.stride,
                  &rows.weights[static_cast<size_t>(y) * rows.stride],
                  &rows.pairs[static_cast<size_t>(y) * rows.pair_stride], rows.count[y], span_bytes,
                  &scratch.vertical[static_cast<size_t>(y) * span_bytes]);
  }
  for (int y = 0; y < out_height; ++y) {
    FilterRow(&scratch.vertical[static_cast<size_t>(y) * span_bytes], scratch, out_width,
              out + static_cast<size_t>(y) * out_width * 3);
  }
}

}  // namespace kubecnn::data

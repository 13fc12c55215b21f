// JPEG region decoding through libjpeg-turbo's libjpeg API, errors caught with setjmp/longjmp.
#include "trainer/data/jpeg_decoder.h"

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <stdexcept>
#include <vector>

namespace kubecnn::data {
namespace {

// libjpeg's error manager plus where to jump back to and what went wrong. libjpeg only ever sees
// `base`, which must stay the first member.
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int warnings;
};

ErrorManager* ErrorsOf(j_common_ptr cinfo) { return reinterpret_cast<ErrorManager*>(cinfo->err); }

[[noreturn]] void OnFatal(j_common_ptr cinfo) {
  (*cinfo->err->format_message)(cinfo, ErrorsOf(cinfo)->message);
  std::longjmp(ErrorsOf(cinfo)->jump, 1);
}

// Warnings after which the pixels are made up rather than decoded: data ended early (libjpeg then
// invents an EOI and grey fill), or the entropy-coded data is broken. Everything else libjpeg warns
// about (e.g. extraneous bytes before a marker, common in ImageNet) leaves the pixels intact.
bool LosesPixels(int message_code) {
  return message_code == JWRN_JPEG_EOF || message_code == JWRN_HIT_MARKER || message_code == JWRN_HUFF_BAD_CODE ||
         message_code == JWRN_MUST_RESYNC;
}

void OnMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace output
  if (LosesPixels(cinfo->err->msg_code)) OnFatal(cinfo);
  ++ErrorsOf(cinfo)->warnings;
}

void OnOutput(j_common_ptr) {}  // libjpeg's default prints to stderr; messages come back as results

// The setjmp frames. Each holds only trivially destructible locals, so a longjmp out of libjpeg
// skips no destructor; callers do everything that allocates outside them.
bool CreateGuarded(j_decompress_ptr cinfo, ErrorManager* errors) {
  if (setjmp(errors->jump) != 0) return false;
  jpeg_create_decompress(cinfo);
  return true;
}

bool ReadHeaderGuarded(j_decompress_ptr cinfo, ErrorManager* errors, const unsigned char* data, unsigned long size) {
  if (setjmp(errors->jump) != 0) return false;
  jpeg_mem_src(cinfo, data, size);
  return jpeg_read_header(cinfo, TRUE) == JPEG_HEADER_OK;
}

// Starts decompression and narrows it to the columns [*x, *x + *width), which libjpeg widens to
// the left to an iMCU boundary.
bool StartGuarded(j_decompress_ptr cinfo, ErrorManager* errors, JDIMENSION* x, JDIMENSION* width) {
  if (setjmp(errors->jump) != 0) return false;
  jpeg_start_decompress(cinfo);
  jpeg_crop_scanline(cinfo, x, width);
  return true;
}

bool ReadRowsGuarded(j_decompress_ptr cinfo, ErrorManager* errors, JDIMENSION skip, JSAMPARRAY rows, JDIMENSION count) {
  if (setjmp(errors->jump) != 0) return false;
  if (skip > 0) {
    const JDIMENSION skipped = jpeg_skip_scanlines(cinfo, skip);
    if (skipped != skip) {
      std::snprintf(errors->message, sizeof(errors->message), "skipped only %u of %u rows", skipped, skip);
      return false;
    }
  }
  JDIMENSION done = 0;
  while (done < count) {
    const JDIMENSION read = jpeg_read_scanlines(cinfo, rows + done, count - done);
    if (read == 0) {  // only a suspending source does this; ours never suspends
      std::snprintf(errors->message, sizeof(errors->message), "no rows after %u of %u", done, count);
      return false;
    }
    done += read;
  }
  return true;
}

JpegColorSpace ToColorSpace(J_COLOR_SPACE space) {
  switch (space) {
    case JCS_GRAYSCALE: return JpegColorSpace::kGray;
    case JCS_YCbCr: return JpegColorSpace::kYCbCr;
    case JCS_RGB: return JpegColorSpace::kRgb;
    case JCS_CMYK: return JpegColorSpace::kCmyk;
    case JCS_YCCK: return JpegColorSpace::kYcck;
    default: return JpegColorSpace::kUnknown;
  }
}

// CMYK to RGB with the naive formula R = (1 - C)(1 - K), as PIL and TF do. Adobe writers store
// the inks inverted (0 = full ink), which is the form the formula wants.
void CmykToRgb(const uint8_t* cmyk, int pixels, bool inverted, uint8_t* rgb) {
  const int to_inverted = inverted ? 0 : 255;  // x ^ 255 == 255 - x for a byte
  for (int i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    const int no_black = cmyk[3] ^ to_inverted;
    for (int c = 0; c < 3; ++c) {
      rgb[c] = static_cast<uint8_t>(((cmyk[c] ^ to_inverted) * no_black + 127) / 255);
    }
  }
}

JpegResult Failure(JpegStatus status, std::string message, int warnings) {
  return JpegResult{status, std::move(message), warnings};
}

std::string DescribeNonJpeg(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return "not a JPEG: no bytes";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string message = "not a JPEG: no SOI marker (ff d8); starts with";
  for (size_t i = 0; i < bytes.size() && i < 4; ++i) {
    message += ' ';
    message += kHex[bytes[i] >> 4];
    message += kHex[bytes[i] & 15];
  }
  if (bytes.size() >= 4 && bytes[0] == 0x89 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G') {
    message += " (a PNG)";
  }
  return message;
}

}  // namespace

struct JpegDecoder::State {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  bool header_ready = false;
  std::vector<uint8_t> rgb;  // grown, never shrunk: the steady state allocates nothing
  std::vector<uint8_t> cmyk;
  std::vector<JSAMPROW> rows;
};

int ScaledJpegSize(int size, int scale_denom) { return (size + scale_denom - 1) / scale_denom; }

int ChooseDctScaleDenom(double crop_width, double crop_height, int output_width, int output_height) {
  for (int denom : {8, 4, 2}) {
    if (crop_width >= static_cast<double>(output_width) * denom &&
        crop_height >= static_cast<double>(output_height) * denom) {
      return denom;
    }
  }
  return 1;
}

JpegDecoder::JpegDecoder() : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.cinfo.err = jpeg_std_error(&s.errors.base);
  s.errors.base.error_exit = OnFatal;
  s.errors.base.emit_message = OnMessage;
  s.errors.base.output_message = OnOutput;
  s.errors.warnings = 0;
  s.errors.message[0] = '\0';
  if (!CreateGuarded(&s.cinfo, &s.errors)) {
    throw std::runtime_error(std::string("creating the libjpeg decompressor: ") + s.errors.message);
  }
}

JpegDecoder::~JpegDecoder() { jpeg_destroy_decompress(&state_->cinfo); }

JpegResult JpegDecoder::ReadHeader(std::span<const uint8_t> jpeg, JpegHeader* header) {
  State& s = *state_;
  jpeg_abort_decompress(&s.cinfo);  // back to idle, whatever the previous image left behind
  s.header_ready = false;
  s.errors.warnings = 0;
  s.errors.message[0] = '\0';
  if (jpeg.size() < 2 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) {
    return Failure(JpegStatus::kNotJpeg, DescribeNonJpeg(jpeg), 0);
  }
  if (!ReadHeaderGuarded(&s.cinfo, &s.errors, jpeg.data(), static_cast<unsigned long>(jpeg.size()))) {
    return Failure(JpegStatus::kCorrupt, std::string("reading JPEG header: ") + s.errors.message, s.errors.warnings);
  }
  *header = JpegHeader{
      static_cast<int>(s.cinfo.image_width),  static_cast<int>(s.cinfo.image_height), s.cinfo.num_components,
      ToColorSpace(s.cinfo.jpeg_color_space), s.cinfo.saw_Adobe_marker != 0,          s.cinfo.progressive_mode != 0};
  if (header->color_space == JpegColorSpace::kUnknown) {
    return Failure(JpegStatus::kCorrupt,
                   "unsupported JPEG colour space with " + std::to_string(header->components) +
                       " components (expected grayscale, YCbCr, RGB, CMYK or YCCK)",
                   s.errors.warnings);
  }
  s.header_ready = true;
  return JpegResult{JpegStatus::kOk, {}, s.errors.warnings};
}

JpegResult JpegDecoder::DecodeRegion(const PixelRegion& region, const JpegDecodeOptions& options, DecodedImage* image) {
  State& s = *state_;
  if (!s.header_ready) throw std::logic_error("JpegDecoder::DecodeRegion without a good ReadHeader");
  s.header_ready = false;
  const int denom = options.scale_denom;
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) {
    throw std::invalid_argument("JPEG scale_denom must be 1, 2, 4 or 8, got " + std::to_string(denom));
  }
  const int scaled_width = ScaledJpegSize(static_cast<int>(s.cinfo.image_width), denom);
  const int scaled_height = ScaledJpegSize(static_cast<int>(s.cinfo.image_height), denom);
  if (region.x < 0 || region.y < 0 || region.width <= 0 || region.height <= 0 ||
      region.x + region.width > scaled_width || region.y + region.height > scaled_height) {
    throw std::invalid_argument("JPEG region " + std::to_string(region.width) + "x" + std::to_string(region.height) +
                                "+" + std::to_string(region.x) + "+" + std::to_string(region.y) + " lies outside the " +
                                std::to_string(scaled_width) + "x" + std::to_string(scaled_height) + " image");
  }

  const bool cmyk = s.cinfo.jpeg_color_space == JCS_CMYK || s.cinfo.jpeg_color_space == JCS_YCCK;
  s.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // gray -> RGB is built into libjpeg-turbo
  s.cinfo.scale_num = 1;
  s.cinfo.scale_denom = static_cast<unsigned int>(denom);
  s.cinfo.dct_method = options.fast_dct ? JDCT_IFAST : JDCT_ISLOW;
  s.cinfo.do_fancy_upsampling = options.fast_dct ? FALSE : TRUE;
  s.cinfo.do_block_smoothing = options.fast_dct ? FALSE : TRUE;  // progressive only

  // libjpeg-turbo 2.1 leaves these pointing into the previous image's freed pool when this image
  // uses merged upsampling (which needs no colour converter), and jpeg_skip_scanlines() then writes
  // through the stale cconvert (found by valgrind: use-after-free). A fresh object has them NULL.
  s.cinfo.cconvert = nullptr;
  s.cinfo.cquantize = nullptr;

  JDIMENSION x = static_cast<JDIMENSION>(region.x);
  JDIMENSION width = static_cast<JDIMENSION>(region.width);
  if (!StartGuarded(&s.cinfo, &s.errors, &x, &width)) {
    return Failure(JpegStatus::kCorrupt, std::string("starting JPEG decode: ") + s.errors.message, s.errors.warnings);
  }
  if (static_cast<int>(s.cinfo.output_height) != scaled_height || s.cinfo.output_width != width) {
    throw std::logic_error("libjpeg output size disagrees with ScaledJpegSize");
  }

  // Rows go straight into the RGB buffer, or through the CMYK one when they need converting.
  const size_t channels = cmyk ? 4 : 3;
  const size_t row_bytes = width * channels;
  std::vector<uint8_t>& target = cmyk ? s.cmyk : s.rgb;
  target.resize(row_bytes * static_cast<size_t>(region.height));
  s.rows.resize(static_cast<size_t>(region.height));
  for (int r = 0; r < region.height; ++r) s.rows[r] = target.data() + r * row_bytes;
  const bool read = ReadRowsGuarded(&s.cinfo, &s.errors, static_cast<JDIMENSION>(region.y), s.rows.data(),
                                    static_cast<JDIMENSION>(region.height));
  const bool inverted = s.cinfo.saw_Adobe_marker != 0;
  jpeg_abort_decompress(&s.cinfo);  // stop here: rows below the region are never decoded
  if (!read) {
    return Failure(JpegStatus::kCorrupt, std::string("decoding JPEG scanlines: ") + s.errors.message,
                   s.errors.warnings);
  }
  if (cmyk) {
    s.rgb.resize(width * 3 * static_cast<size_t>(region.height));
    CmykToRgb(s.cmyk.data(), static_cast<int>(width) * region.height, inverted, s.rgb.data());
  }
  const size_t rgb_stride = width * 3;
  *image = DecodedImage{s.rgb.data() + (static_cast<size_t>(region.x) - x) * 3, region.width, region.height,
                        static_cast<std::ptrdiff_t>(rgb_stride)};
  return JpegResult{JpegStatus::kOk, {}, s.errors.warnings};
}

}  // namespace kubecnn::data

// IDX parsing: well-formed files (plain and gzip'd) load, malformed ones fail with a message that names the problem.
#include "trainer/tools/idx_images.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "tests/support/test_files.h"
#include "trainer/data/data_error.h"

namespace kubecnn::tools {
namespace {

// magic 00 00 08 03, dims 2x2x3, then 12 pixel bytes.
std::string TinyImages() {
  std::string bytes("\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x03", 16);
  for (int i = 0; i < 12; ++i) bytes.push_back(static_cast<char>(i * 20));
  return bytes;
}

std::string ErrorOf(std::string_view bytes) {
  try {
    ParseIdx(bytes, "x-ubyte");
  } catch (const data::DataError& e) {
    return e.what();
  }
  return "no error";
}

TEST(IdxImages, ParsesDimensionsAndData) {
  const IdxArray a = ParseIdx(TinyImages(), "x");
  EXPECT_EQ(a.dims, (std::vector<uint32_t>{2, 2, 3}));
  EXPECT_EQ(a.count(), 2u);
  EXPECT_EQ(a.item_size(), 6u);
  ASSERT_EQ(a.data.size(), 12u);
  EXPECT_EQ(a.data[11], 220);
}

TEST(IdxImages, RejectsABadMagicNamingTheFileAndWhatWasFound) {
  const std::string error = ErrorOf(std::string("\x1f\x8b\x08\x08rest", 8));
  EXPECT_NE(error.find("x-ubyte"), std::string::npos) << error;
  EXPECT_NE(error.find("not an IDX file"), std::string::npos) << error;
  EXPECT_NE(error.find("0x1f8b0808"), std::string::npos) << error;
  EXPECT_NE(ErrorOf("ab").find("too short"), std::string::npos);
}

TEST(IdxImages, RejectsNonByteElementTypes) {
  std::string floats = TinyImages();
  floats[2] = 0x0D;
  EXPECT_NE(ErrorOf(floats).find("float32"), std::string::npos) << ErrorOf(floats);
}

TEST(IdxImages, RejectsDataThatDisagreesWithTheDimensions) {
  const std::string full = TinyImages();
  EXPECT_NE(ErrorOf(full.substr(0, full.size() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(ErrorOf(full + "x").find("trailing"), std::string::npos);
  EXPECT_NE(ErrorOf(full.substr(0, 10)).find("header truncated"), std::string::npos);
}

TEST(IdxImages, ReadsGzippedAndPlainFilesAlike) {
  kubecnn::testing::ScratchDir dir;
  kubecnn::testing::WriteFile(dir / "plain-ubyte", TinyImages());
  gzFile gz = gzopen((dir / "packed-ubyte.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  const std::string bytes = TinyImages();
  ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(gz);
  EXPECT_EQ(ReadIdxFile(dir / "plain-ubyte").data, ReadIdxFile(dir / "packed-ubyte.gz").data);
}

TEST(IdxImages, MissingFileErrorNamesThePath) {
  try {
    ReadIdxFile("/nonexistent/train-images-idx3-ubyte.gz");
    FAIL();
  } catch (const data::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/train-images-idx3-ubyte.gz"), std::string::npos);
  }
}

}  // namespace
}  // namespace kubecnn::tools

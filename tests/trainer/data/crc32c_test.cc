// CRC32C known answers (RFC 3720 / iSCSI test vectors), masking, and hardware == software.
#include "trainer/data/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trainer/common/random.h"

namespace kubecnn::data {
namespace {

TEST(Crc32c, MatchesPublishedTestVectors) {
  const std::string digits = "123456789";
  EXPECT_EQ(Crc32c(digits.data(), digits.size()), 0xe3069283u);
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xff), ascending(32), descending(32);
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<uint8_t>(i);
    descending[i] = static_cast<uint8_t>(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8a9136aau);
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(ascending.data(), ascending.size()), 0x46dd794eu);
  EXPECT_EQ(Crc32c(descending.data(), descending.size()), 0x113fdb5cu);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
}

TEST(Crc32c, SoftwareAndHardwarePathsAgreeOnEveryLengthAndAlignment) {
  Rng rng(42);
  std::vector<uint8_t> data(300);
  for (auto& b : data) b = static_cast<uint8_t>(rng.Next());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += 7) {
      ASSERT_EQ(Crc32c(data.data() + start, len), Crc32cSoftware(data.data() + start, len)) << start << "+" << len;
    }
  }
}

TEST(Crc32c, ContinuesAcrossChunks) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  const uint32_t whole = Crc32c(text.data(), text.size());
  const uint32_t first = Crc32c(text.data(), 10);
  EXPECT_EQ(Crc32c(text.data() + 10, text.size() - 10, first), whole);
  EXPECT_EQ(Crc32cSoftware(text.data() + 10, text.size() - 10, Crc32cSoftware(text.data(), 10)), whole);
}

TEST(Crc32c, MaskIsTensorFlowsRotateAndAddAndUnmaskInvertsIt) {
  // masked = rotr15(crc) + 0xa282ead8, as in tensorflow/core/lib/hash/crc32c.h.
  EXPECT_EQ(MaskCrc(0u), 0xa282ead8u);
  EXPECT_EQ(MaskCrc(0x00008000u), 0xa282ead9u);  // bit 15 rotates to bit 0
  EXPECT_EQ(MaskCrc(0x00000001u), 0xa284ead8u);  // bit 0 rotates to bit 17
  Rng rng(7);
  for (int i = 0; i < 1000; ++i) {
    const auto crc = static_cast<uint32_t>(rng.Next());
    ASSERT_EQ(UnmaskCrc(MaskCrc(crc)), crc);
  }
}

}  // namespace
}  // namespace kubecnn::data

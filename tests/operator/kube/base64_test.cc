// Base64: RFC 4648's test vectors both ways, whitespace tolerated, malformed text refused.
#include "operator/kube/base64.h"

#include <gtest/gtest.h>

namespace kubecnn::kube {
namespace {

TEST(Base64, EncodesAndDecodesTheRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), std::optional<std::string>(plain)) << encoded;
  }
  const std::string binary("\x00\xff\xfe\x80", 4);
  EXPECT_EQ(Base64Encode(binary), "AP/+gA==");
  EXPECT_EQ(Base64Decode("AP/+gA=="), binary);
}

TEST(Base64, IgnoresLineBreaksAndAcceptsMissingPadding) {
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy\r\n"), "foobar");
  EXPECT_EQ(Base64Decode("Zm9vYg"), "foob");
}

TEST(Base64, RefusesWhatIsNotBase64) {
  EXPECT_EQ(Base64Decode("Zm9v!"), std::nullopt) << "outside the alphabet";
  EXPECT_EQ(Base64Decode("Zm9vY"), std::nullopt) << "one symbol left over";
  EXPECT_EQ(Base64Decode("Zg==Zg=="), std::nullopt) << "data after padding";
  EXPECT_EQ(Base64Decode("Zg==="), std::nullopt) << "too much padding";
  EXPECT_EQ(Base64Decode("Zm8=="), std::nullopt) << "padding that does not complete a quantum";
}

}  // namespace
}  // namespace kubecnn::kube

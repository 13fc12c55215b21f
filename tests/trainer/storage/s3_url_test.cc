// Tests of s3_url: the encoding and canonical query SigV4 signs, and both addressing styles.
#include "trainer/storage/s3_url.h"

#include <gtest/gtest.h>

namespace kubecnn::storage {
namespace {

TEST(S3Url, EncodesAllButUnreservedAndKeepsSlashesInKeys) {
  EXPECT_EQ(UriEncode("a-b_c.d~e", false), "a-b_c.d~e");
  EXPECT_EQ(UriEncode("a/b c+d", true), "a/b%20c%2Bd");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");
}

TEST(S3Url, CanonicalQueryIsSortedEncodedWithEmptyValues) {
  EXPECT_EQ(CanonicalQuery({{"prefix", "a/"}, {"list-type", "2"}, {"delimiter", "/"}}),
            "delimiter=%2F&list-type=2&prefix=a%2F");
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({}), "");
}

TEST(S3Url, PathStyleForCustomEndpoints) {
  S3Config c;
  c.endpoint = "http://127.0.0.1:7480";
  c.path_style = true;
  EXPECT_EQ(S3RequestUrl(c, "bkt", "train/x y", {}), "http://127.0.0.1:7480/bkt/train/x%20y");
  EXPECT_EQ(S3RequestUrl(c, "bkt", "", {{"list-type", "2"}}), "http://127.0.0.1:7480/bkt?list-type=2");
}

TEST(S3Url, VirtualHostedOnAwsUnlessTheBucketHasDots) {
  S3Config c;
  c.endpoint = "https://s3.eu-west-1.amazonaws.com";
  EXPECT_EQ(S3RequestUrl(c, "bkt", "k", {}), "https://bkt.s3.eu-west-1.amazonaws.com/k");
  EXPECT_EQ(S3RequestUrl(c, "my.bkt", "k", {}), "https://s3.eu-west-1.amazonaws.com/my.bkt/k");
}

}  // namespace
}  // namespace kubecnn::storage

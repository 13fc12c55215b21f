// Tests of storage_path: schemes, joining and s3:// URL parsing.
#include "trainer/storage/storage_path.h"

#include <gtest/gtest.h>

namespace kubecnn::storage {
namespace {

TEST(StoragePath, SchemeIsWhatPrecedesColonSlashSlash) {
  EXPECT_EQ(SchemeOf("s3://bucket/key"), "s3");
  EXPECT_EQ(SchemeOf("gs://b"), "gs");
  EXPECT_EQ(SchemeOf("/data/imagenet"), "");
  EXPECT_EQ(SchemeOf("relative/dir"), "");
  EXPECT_EQ(SchemeOf("weird:name"), "");
  EXPECT_EQ(SchemeOf("://nothing"), "");
  EXPECT_FALSE(IsUrl("/tmp/x"));
  EXPECT_TRUE(IsUrl("s3://b/x"));
}

TEST(StoragePath, JoinNeverDoublesTheSlash) {
  EXPECT_EQ(JoinPath("s3://b/prefix", "train-00000-of-00001"), "s3://b/prefix/train-00000-of-00001");
  EXPECT_EQ(JoinPath("s3://b/prefix/", "x"), "s3://b/prefix/x");
  EXPECT_EQ(JoinPath("s3://b", "x"), "s3://b/x");
  EXPECT_EQ(JoinPath("/data/", "/x"), "/data/x");
  EXPECT_EQ(JoinPath("", "x"), "x");
}

TEST(StoragePath, ParsesBucketAndKey) {
  std::string error;
  auto at = ParseS3Url("s3://imagenet-shards/train/part", &error);
  ASSERT_TRUE(at) << error;
  EXPECT_EQ(at->bucket, "imagenet-shards");
  EXPECT_EQ(at->key, "train/part");
  at = ParseS3Url("s3://my.bucket", &error);
  ASSERT_TRUE(at) << error;
  EXPECT_EQ(at->bucket, "my.bucket");
  EXPECT_EQ(at->key, "");
}

TEST(StoragePath, RefusesUrlsS3WouldRefuseSayingWhy) {
  const struct {
    const char* url;
    const char* says;
  } cases[] = {
      {"s3://", "no bucket name"},
      {"s3:///key", "no bucket name"},
      {"s3://ab/key", "is not one S3 accepts"},
      {"s3://Upper/key", "is not one S3 accepts"},
      {"s3://under_score/key", "is not one S3 accepts"},
      {"s3://-dash/key", "is not one S3 accepts"},
      {"http://b/key", "not an s3:// URL"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(ParseS3Url(c.url, &error)) << c.url;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.url << ": " << error;
  }
}

}  // namespace
}  // namespace kubecnn::storage

// s3:// URLs: which strings are ones, how they split into bucket and prefix, and which bucket names
// S3 refuses (table-tested; validation turns these into field errors).
#include "operator/api/s3_url.h"

#include <gtest/gtest.h>

namespace kubecnn::api {
namespace {

TEST(S3Url, SplitsBucketAndPrefix) {
  const struct {
    const char* url;
    const char* bucket;
    const char* prefix;
  } cases[] = {
      {"s3://imagenet", "imagenet", ""},
      {"s3://imagenet/", "imagenet", ""},
      {"s3://imagenet/train", "imagenet", "train"},
      {"s3://imagenet/train/shards/", "imagenet", "train/shards/"},
      {"s3://", "", ""},
      {"s3:///train", "", "train"},
  };
  for (const auto& c : cases) {
    const std::optional<S3Url> url = ParseS3Url(c.url);
    ASSERT_TRUE(url) << c.url;
    EXPECT_EQ(url->bucket, c.bucket) << c.url;
    EXPECT_EQ(url->prefix, c.prefix) << c.url;
  }
  for (const char* other : {"/data/imagenet", "imagenet", "S3://imagenet", "s3:/imagenet", "gs://imagenet", ""}) {
    EXPECT_FALSE(ParseS3Url(other)) << other;
    EXPECT_FALSE(IsS3Url(std::string_view(other))) << other;
  }
  EXPECT_TRUE(IsS3Url(std::optional<std::string>("s3://b/x")));
  EXPECT_FALSE(IsS3Url(std::optional<std::string>()));
}

TEST(S3Url, BucketNamesFollowS3Rules) {
  const std::string good_names[] = {"imagenet", "abc", "ml.runs-2026", "0day", std::string(63, 'a')};
  for (const std::string& good : good_names) {
    EXPECT_EQ(BucketNameProblem(good), "") << good;
  }
  const struct {
    std::string bucket;
    const char* fragment;
  } bad[] = {
      {"ab", "3 to 63 characters, got 2"},
      {std::string(64, 'a'), "got 64"},
      {"ImageNet", "lower-case letters"},
      {"image_net", "lower-case letters"},
      {"-imagenet", "starts and ends with a letter or digit"},
      {"imagenet.", "starts and ends with a letter or digit"},
      {"image..net", "no two adjacent periods"},
      {"192.168.0.1", "not an IP address"},
  };
  for (const auto& c : bad) {
    EXPECT_NE(BucketNameProblem(c.bucket).find(c.fragment), std::string::npos)
        << c.bucket << ": " << BucketNameProblem(c.bucket);
  }
}

}  // namespace
}  // namespace kubecnn::api

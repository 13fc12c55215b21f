// Tests of s3_xml: real answers of Ceph RGW parsed, malformed ones refused.
#include "trainer/storage/s3_xml.h"

#include <gtest/gtest.h>

namespace kubecnn::storage {
namespace {

// Copied from radosgw 16.2's answers on this machine.
constexpr const char* kListPage =
    R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>a/</Prefix><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a/b.txt</Key><LastModified>2026-12-04T05:15:54.597Z</LastModified><ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents><NextContinuationToken>a/b.txt</NextContinuationToken><KeyCount>1</KeyCount></ListBucketResult>)";
constexpr const char* kNoSuchBucket =
    R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message></Message><BucketName>bkt</BucketName><RequestId>tx00000a146ab92c83c4276-006b124c80-1011-default</RequestId><HostId>1011-default-default</HostId></Error>)";

TEST(S3Xml, ParsesAListingPage) {
  std::string error;
  const auto page = ParseListPage(kListPage, &error);
  ASSERT_TRUE(page) << error;
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "a/b.txt");
  EXPECT_EQ(page->objects[0].size, 5u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "a/b.txt");
}

TEST(S3Xml, ParsesErrorsAndUploadIds) {
  const auto error = ParseS3Error(kNoSuchBucket);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "NoSuchBucket");
  EXPECT_FALSE(ParseS3Error(kListPage));
  EXPECT_EQ(ParseUploadId("<InitiateMultipartUploadResult><UploadId>2~x</UploadId></InitiateMultipartUploadResult>"),
            "2~x");
  EXPECT_FALSE(ParseUploadId(kNoSuchBucket));
}

TEST(S3Xml, RefusesMalformedListings) {
  std::string error;
  EXPECT_FALSE(ParseListPage("", &error));
  EXPECT_FALSE(
      ParseListPage("<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>", &error));
  EXPECT_NE(error.find("numeric size"), std::string::npos);
  EXPECT_FALSE(ParseListPage("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", &error));
  EXPECT_NE(error.find("NextContinuationToken"), std::string::npos);
  EXPECT_FALSE(ParseListPage(kNoSuchBucket, &error));
}

// From the STS API reference's AssumeRoleWithWebIdentity example.
constexpr const char* kStsAnswer =
    R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn></AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>)";

TEST(S3Xml, ParsesStsCredentialsAndErrors) {
  const auto c = ParseAssumeRoleWithWebIdentity(kStsAnswer);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(c->session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
  EXPECT_EQ(c->expiration, "2014-10-24T23:00:23Z");
  const auto error = ParseStsError(
      "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Incorrect token "
      "audience</Message></Error></ErrorResponse>");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "InvalidIdentityToken");
  EXPECT_FALSE(ParseAssumeRoleWithWebIdentity(kNoSuchBucket));
  EXPECT_FALSE(ParseStsError(kNoSuchBucket));
}

TEST(S3Xml, CompleteBodyNumbersPartsAndEscapesEtags) {
  EXPECT_EQ(CompleteMultipartBody({"\"a\"", "\"b\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>");
}

}  // namespace
}  // namespace kubecnn::storage

// Tests of s3_failure: which outcomes are retried, which are final, the back-off's bounds, hints.
#include "trainer/storage/s3_failure.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

namespace kubecnn::storage {
namespace {

TEST(S3Failure, ClassifiesTheCasesTheIssueNames) {
  const struct {
    int curl;
    long status;
    const char* code;
    S3Outcome expected;
  } cases[] = {
      {CURLE_OK, 200, "", S3Outcome::kOk},
      {CURLE_OK, 206, "", S3Outcome::kOk},
      {CURLE_OK, 403, "AccessDenied", S3Outcome::kPermanent},
      {CURLE_OK, 403, "SignatureDoesNotMatch", S3Outcome::kPermanent},
      {CURLE_OK, 403, "InvalidAccessKeyId", S3Outcome::kPermanent},
      {CURLE_OK, 404, "NoSuchBucket", S3Outcome::kPermanent},
      {CURLE_OK, 404, "NoSuchKey", S3Outcome::kNotFound},
      {CURLE_OK, 404, "", S3Outcome::kNotFound},  // HEAD
      {CURLE_OK, 400, "InvalidArgument", S3Outcome::kPermanent},
      {CURLE_OK, 500, "InternalError", S3Outcome::kRetry},
      {CURLE_OK, 502, "", S3Outcome::kRetry},
      {CURLE_OK, 503, "SlowDown", S3Outcome::kRetry},
      {CURLE_OK, 400, "RequestTimeout", S3Outcome::kRetry},
      {CURLE_OK, 429, "", S3Outcome::kRetry},
      {CURLE_OK, 200, "InternalError", S3Outcome::kRetry},  // CompleteMultipartUpload's 200 + <Error>
      {CURLE_OK, 200, "InvalidPart", S3Outcome::kPermanent},
      {CURLE_OPERATION_TIMEDOUT, 0, "", S3Outcome::kRetry},
      {CURLE_RECV_ERROR, 0, "", S3Outcome::kRetry},      // connection reset
      {CURLE_PARTIAL_FILE, 200, "", S3Outcome::kRetry},  // truncated body
      {CURLE_GOT_NOTHING, 0, "", S3Outcome::kRetry},
      {CURLE_COULDNT_CONNECT, 0, "", S3Outcome::kRetry},
      {CURLE_PEER_FAILED_VERIFICATION, 0, "", S3Outcome::kPermanent},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ClassifyS3(c.curl, c.status, c.code), c.expected) << c.curl << " " << c.status << " " << c.code;
  }
}

TEST(S3Failure, BackOffIsFullJitterUnderACap) {
  using std::chrono::milliseconds;
  EXPECT_EQ(S3RetryDelay(1, 0.0), milliseconds(0));
  EXPECT_EQ(S3RetryDelay(1, 0.999), milliseconds(99));
  EXPECT_EQ(S3RetryDelay(3, 0.5), milliseconds(200));
  EXPECT_EQ(S3RetryDelay(30, 0.999), milliseconds(4995));  // capped at 5 s
}

TEST(S3Failure, HintsNameTheCredentialSourceAndTheFix) {
  const std::string source = "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
  EXPECT_NE(S3Hint(403, "AccessDenied", source, "http://rgw").find(source), std::string::npos);
  EXPECT_NE(S3Hint(403, "SignatureDoesNotMatch", source, "http://rgw").find("secret key"), std::string::npos);
  EXPECT_NE(S3Hint(404, "NoSuchBucket", source, "http://rgw").find("http://rgw"), std::string::npos);
  EXPECT_NE(S3Hint(403, "RequestTimeTooSkewed", source, "").find("clock"), std::string::npos);
}

}  // namespace
}  // namespace kubecnn::storage

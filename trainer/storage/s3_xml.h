// The XML that S3 answers with (errors, listings, multipart uploads), parsed with tinyxml2 into
// plain structs. Everything here reads bytes off the network: it never trusts them (fuzzed by
// tests/fuzz/s3_xml_fuzzer.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::storage {

struct S3ErrorBody {
  std::string code;  // "NoSuchKey", "SlowDown", ...
  std::string message;
};

// <Error><Code>..</Code><Message>..</Message></Error>; nullopt for anything else.
std::optional<S3ErrorBody> ParseS3Error(std::string_view xml);

struct S3ListedObject {
  std::string key;
  uint64_t size = 0;
};

struct S3ListPage {
  std::vector<S3ListedObject> objects;
  std::vector<std::string> common_prefixes;  // "folders" under a delimiter
  bool truncated = false;
  std::string next_continuation_token;
};

// A ListObjectsV2 answer (ListBucketResult); nullopt with *error when it is not one or a field is
// malformed (a size that is not a number, truncated without a continuation token).
std::optional<S3ListPage> ParseListPage(std::string_view xml, std::string* error);

// InitiateMultipartUploadResult's UploadId.
std::optional<std::string> ParseUploadId(std::string_view xml);

// STS's AssumeRoleWithWebIdentity answer: temporary credentials and when they expire
// ("2026-12-04T07:00:00Z").
struct StsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string expiration;
};
std::optional<StsCredentials> ParseAssumeRoleWithWebIdentity(std::string_view xml);
// STS's errors: <ErrorResponse><Error><Code>..</Code><Message>..</Message></Error></ErrorResponse>.
std::optional<S3ErrorBody> ParseStsError(std::string_view xml);

// The body of CompleteMultipartUpload for parts 1..n with these ETags.
std::string CompleteMultipartBody(const std::vector<std::string>& etags);

}  // namespace kubecnn::storage

// s3://bucket/prefix locations as kubecnn-trainer takes them for --data_dir, --log_dir and
// --checkpoint: recognising one, splitting it, and S3's bucket-naming rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubecnn::api {

inline constexpr std::string_view kS3Scheme = "s3://";

struct S3Url {
  std::string bucket;
  std::string prefix;  // the key prefix after "bucket/"; may be empty
};

// Whether `path` names an object-store location (starts with "s3://"), well formed or not.
bool IsS3Url(std::string_view path);
bool IsS3Url(const std::optional<std::string>& path);

// Bucket and prefix of "s3://bucket[/prefix]"; nullopt when `path` does not start with "s3://".
std::optional<S3Url> ParseS3Url(std::string_view path);

// What is wrong with `bucket` as an S3 bucket name, or "" when nothing is: 3 to 63 lower-case
// letters, digits, '.' and '-', starting and ending with a letter or digit, no "..", not an IPv4
// address (the rules AWS S3 and Ceph RGW enforce, so a bad name fails here, not in the trainer).
std::string BucketNameProblem(std::string_view bucket);

}  // namespace kubecnn::api

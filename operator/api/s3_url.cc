// s3:// URL parsing and bucket-name rules.
#include "operator/api/s3_url.h"

#include <regex>

namespace kubecnn::api {

bool IsS3Url(std::string_view path) { return path.substr(0, kS3Scheme.size()) == kS3Scheme; }

bool IsS3Url(const std::optional<std::string>& path) { return path && IsS3Url(std::string_view(*path)); }

std::optional<S3Url> ParseS3Url(std::string_view path) {
  if (!IsS3Url(path)) return std::nullopt;
  const std::string_view rest = path.substr(kS3Scheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return S3Url{std::string(rest), ""};
  return S3Url{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

std::string BucketNameProblem(std::string_view bucket) {
  static const std::regex kAllowed("[a-z0-9][a-z0-9.-]*[a-z0-9]");
  static const std::regex kIpv4("[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+");
  const std::string name(bucket);
  if (name.size() < 3 || name.size() > 63) {
    return "a bucket name has 3 to 63 characters, got " + std::to_string(name.size());
  }
  if (!std::regex_match(name, kAllowed)) {
    return "a bucket name has lower-case letters, digits, '.' and '-', and starts and ends with a letter or digit";
  }
  if (name.find("..") != std::string::npos) return "a bucket name has no two adjacent periods";
  if (std::regex_match(name, kIpv4)) return "a bucket name is not an IP address";
  return "";
}

}  // namespace kubecnn::api

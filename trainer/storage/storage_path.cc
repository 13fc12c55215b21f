// Path and URL helpers shared by every backend.
#include "trainer/storage/storage_path.h"

#include <cctype>

namespace kubecnn::storage {

std::string SchemeOf(std::string_view path) {
  const size_t sep = path.find("://");
  if (sep == std::string_view::npos || sep == 0) return "";
  for (char c : path.substr(0, sep)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return "";
  }
  return std::string(path.substr(0, sep));
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  out += name;
  return out;
}

std::optional<S3Location> ParseS3Url(std::string_view url, std::string* error) {
  constexpr std::string_view kPrefix = "s3://";
  if (url.substr(0, kPrefix.size()) != kPrefix) {
    *error = "not an s3:// URL";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  S3Location location;
  location.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) location.key = std::string(rest.substr(slash + 1));
  const std::string& b = location.bucket;
  if (b.empty()) {
    *error = "no bucket name (write s3://BUCKET/prefix)";
    return std::nullopt;
  }
  // S3's rules: 3-63 characters of lower-case letters, digits, '.' and '-', starting and ending
  // with a letter or digit. Ceph and MinIO accept the same.
  bool ok = b.size() >= 3 && b.size() <= 63 && std::isalnum(static_cast<unsigned char>(b.front())) &&
            std::isalnum(static_cast<unsigned char>(b.back()));
  for (char c : b) {
    ok = ok && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                c == '.' || c == '-');
  }
  if (!ok) {
    *error = "bucket name '" + b +
             "' is not one S3 accepts (3-63 lower-case letters, digits, '.' or '-', starting and ending with a "
             "letter or digit)";
    return std::nullopt;
  }
  return location;
}

}  // namespace kubecnn::storage

// S3 URL building and encoding.
#include "trainer/storage/s3_url.h"

#include <algorithm>

namespace kubecnn::storage {

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(QueryParams params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::string S3RequestUrl(const S3Config& config, std::string_view bucket, std::string_view key,
                         const QueryParams& query) {
  // Virtual-hosted addressing puts the bucket in the host name; a bucket with dots would not
  // match the wildcard certificate there, so those stay path-style.
  const bool path_style = config.path_style || bucket.find('.') != std::string_view::npos;
  std::string url;
  if (path_style) {
    url = config.endpoint + "/" + std::string(bucket);
    if (!key.empty()) url += "/" + UriEncode(key, true);
  } else {
    const size_t scheme_end = config.endpoint.find("://") + 3;
    url = config.endpoint.substr(0, scheme_end) + std::string(bucket) + "." + config.endpoint.substr(scheme_end) + "/" +
          UriEncode(key, true);
  }
  const std::string q = CanonicalQuery(query);
  if (!q.empty()) url += "?" + q;
  return url;
}

}  // namespace kubecnn::storage

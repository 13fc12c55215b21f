// Paths that may be local or URLs (s3://bucket/key): scheme, joining, and S3 locations.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubecnn::storage {

// "s3" for s3://..., "gs" for gs://..., "" for a local path.
std::string SchemeOf(std::string_view path);
inline bool IsUrl(std::string_view path) { return !SchemeOf(path).empty(); }

// dir + "/" + name without doubling the slash; works for folders and URL prefixes alike.
std::string JoinPath(std::string_view dir, std::string_view name);

struct S3Location {
  std::string bucket;
  std::string key;  // no leading '/'; may be empty (the bucket's root)
};

// Parses s3://bucket[/key]; nullopt with *error saying what is wrong (no bucket, a bucket name
// S3 would refuse).
std::optional<S3Location> ParseS3Url(std::string_view url, std::string* error);

}  // namespace kubecnn::storage

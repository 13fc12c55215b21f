// S3 request URLs: key encoding, the canonical (sorted, percent-encoded) query that SigV4 signs,
// and path-style or virtual-hosted addressing.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trainer/storage/s3_config.h"

namespace kubecnn::storage {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - _ . ~ stay, every other byte becomes
// %XX (upper-case hex); '/' stays when keep_slash (object keys).
std::string UriEncode(std::string_view text, bool keep_slash);

// "a=1&b=x%2Fy": sorted by name (then value), names and values encoded, "name=" for empty values.
// libcurl 7.88 signs the query as given, so it must already be canonical.
std::string CanonicalQuery(QueryParams params);

// The request URL for bucket/key (key may be empty: the bucket itself) with the query appended.
std::string S3RequestUrl(const S3Config& config, std::string_view bucket, std::string_view key,
                         const QueryParams& query);

}  // namespace kubecnn::storage

// libFuzzer target: arbitrary bytes as an S3 or STS answer (error, listing, multipart upload, web
// identity credentials) must never crash, leak or hang the parsers that read them off the network.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "trainer/storage/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  (void)kubecnn::storage::ParseS3Error(xml);
  std::string error;
  if (auto page = kubecnn::storage::ParseListPage(xml, &error)) {
    // A parsed page is usable: every object has a key, a truncated one has its token.
    for (const auto& object : page->objects) {
      if (object.key.empty()) __builtin_trap();
    }
    if (page->truncated && page->next_continuation_token.empty()) __builtin_trap();
  }
  (void)kubecnn::storage::ParseUploadId(xml);
  (void)kubecnn::storage::ParseStsError(xml);
  if (auto sts = kubecnn::storage::ParseAssumeRoleWithWebIdentity(xml)) {
    if (sts->access_key_id.empty() || sts->secret_access_key.empty()) __builtin_trap();
  }
  return 0;
}

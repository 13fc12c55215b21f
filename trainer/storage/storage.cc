// The backend registry: a path's scheme picks its Storage, made once per process.
#include "trainer/storage/storage.h"

#include <mutex>
#include <stdexcept>

#include "trainer/storage/local_storage.h"
#include "trainer/storage/s3_storage.h"
#include "trainer/storage/storage_path.h"

namespace kubecnn::storage {

bool ReadableObject::ReadAtAsync(uint64_t /*offset*/, char* /*buffer*/, uint64_t /*n*/, ReadDone /*done*/) const {
  throw std::logic_error(path() + ": this backend has no asynchronous reads (reads_async() is false)");
}

Storage& StorageFor(const std::string& path) {
  const std::string scheme = SchemeOf(path);
  if (scheme.empty()) {
    static LocalStorage local;
    return local;
  }
  if (scheme == "s3") {
    // Made on first use, so that a run without s3:// paths never needs credentials.
    static std::mutex mu;
    static std::unique_ptr<S3Storage> s3;
    std::lock_guard<std::mutex> lock(mu);
    if (!s3) s3 = std::make_unique<S3Storage>(S3ConfigFromEnvironment());
    return *s3;
  }
  throw StorageError(path + ": " + scheme +
                     ":// is not supported (kubecnn-trainer reads and writes local paths and s3:// URLs; for gs:// use "
                     "the bucket's S3-compatible XML API through AWS_ENDPOINT_URL_S3=https://storage.googleapis.com "
                     "and HMAC keys)");
}

void WriteAtomically(const std::string& path, const std::vector<std::string_view>& pieces) {
  auto writer = StorageFor(path).Create(path);
  for (std::string_view piece : pieces) writer->Write(piece);
  writer->Commit();
}

}  // namespace kubecnn::storage

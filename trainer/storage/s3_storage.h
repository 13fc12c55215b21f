// The S3 backend: s3://bucket/key paths over an S3Client (Ceph RGW, MinIO, AWS S3, GCS's XML API).
// Listing pages through ListObjectsV2 with a '/' delimiter, reads are ranged GETs (sequential
// readers fetch large blocks), writes are one PUT or, above the part size, a multipart upload that
// only a completed upload makes visible.
#pragma once

#include <chrono>
#include <memory>

#include "trainer/storage/s3_client.h"
#include "trainer/storage/storage.h"

namespace kubecnn::storage {

struct S3StorageOptions {
  uint64_t part_bytes = 16u << 20;             // multipart part size (S3's minimum is 5 MiB)
  int upload_parallelism = 4;                  // parts in flight per upload
  uint64_t sequential_block_bytes = 8u << 20;  // what a kSequential reader fetches per GET
  int read_parallelism = 8;                    // ranged GETs in flight for ReadAll of a large object
  int list_page_size = 1000;                   // keys per ListObjectsV2 page (S3's maximum)
  // An appendable (event file) is uploaded whole at most this often, and when it is closed.
  std::chrono::milliseconds appendable_upload_period{std::chrono::seconds(30)};
};

class S3Storage : public Storage {
 public:
  explicit S3Storage(S3Config config, S3StorageOptions options = {});

  std::vector<ObjectInfo> List(const std::string& dir) override;
  std::optional<uint64_t> Size(const std::string& path) override;
  std::unique_ptr<ReadableObject> Open(const std::string& path, Access access) override;
  std::string ReadAll(const std::string& path) override;
  std::unique_ptr<ObjectWriter> Create(const std::string& path) override;
  std::unique_ptr<AppendableObject> CreateAppendable(const std::string& path) override;
  void Delete(const std::string& path) override;
  void MakeFolders(const std::string& /*dir*/) override {}
  bool remote() const override { return true; }

 private:
  S3Client client_;
  S3StorageOptions options_;
};

}  // namespace kubecnn::storage

// The local-filesystem backend: pread for reads, temp file + fsync + rename for atomic writes.
#pragma once

#include "trainer/storage/storage.h"

namespace kubecnn::storage {

class LocalStorage : public Storage {
 public:
  std::vector<ObjectInfo> List(const std::string& dir) override;
  std::optional<uint64_t> Size(const std::string& path) override;
  std::unique_ptr<ReadableObject> Open(const std::string& path, Access access) override;
  std::string ReadAll(const std::string& path) override;
  std::unique_ptr<ObjectWriter> Create(const std::string& path) override;
  std::unique_ptr<AppendableObject> CreateAppendable(const std::string& path) override;
  void Delete(const std::string& path) override;
  void MakeFolders(const std::string& dir) override;
  bool remote() const override { return false; }
};

}  // namespace kubecnn::storage

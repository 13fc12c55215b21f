// One storage interface for everything the trainer reads and writes (shards, indexes, checkpoints,
// event files, results), with a backend per scheme: local paths (local_storage) and s3:// URLs
// (s3_storage). Nothing above this header knows which one it talks to; another scheme (gs://,
// hdfs://) is one more backend registered in storage.cc.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/common/errors.h"

namespace kubecnn::storage {

// A request the storage refused in a way a retry will not change (no such bucket or key, access
// denied, bad credentials, a path of an unknown scheme): exit code 2. Faults that may pass
// (5xx, SlowDown, timeouts, resets, truncated bodies) are retried, then thrown as TransientError.
class StorageError : public PermanentError {
 public:
  using PermanentError::PermanentError;
};

// The object or folder is not there. Callers that accept absence (no checkpoint yet) catch it.
class NotFoundError : public StorageError {
 public:
  using StorageError::StorageError;
};

struct ObjectInfo {
  std::string name;  // relative to the listed folder, no '/'
  uint64_t size = 0;
};

// How a reader will move through an object: kSequential lets a backend fetch large blocks ahead.
enum class Access { kRandom, kSequential };

// An object opened for reading at any offset; safe to share between threads.
class ReadableObject {
 public:
  virtual ~ReadableObject() = default;
  virtual const std::string& path() const = 0;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at offset into buffer; false if the object ends first.
  virtual bool ReadAt(uint64_t offset, void* buffer, uint64_t n) const = 0;

  // For readers with many reads in flight (read-ahead): whether this object can start a read and
  // return at once, its backend driving all such reads from a thread of its own (an object store:
  // one event loop over many connections). Objects that cannot are read with ReadAt on the
  // reader's threads.
  virtual bool reads_async() const { return false; }
  // Starts reading n > 0 bytes at offset into buffer, which must stay valid until `done` runs;
  // false, starting nothing, if the object ends first. `done` runs once, on the backend's thread
  // (never inside this call), with nullptr or what ReadAt would have thrown; it must not block.
  // Only when reads_async().
  using ReadDone = std::function<void(std::exception_ptr error)>;
  virtual bool ReadAtAsync(uint64_t offset, char* buffer, uint64_t n, ReadDone done) const;
};

// A new object that becomes visible under its name, whole, only at Commit(); destroyed without
// Commit() it leaves nothing behind (and any earlier object of that name untouched).
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual void Write(std::string_view bytes) = 0;
  virtual void Commit() = 0;
};

// An object that grows (a TensorBoard event file): Flush() makes everything appended so far
// visible as one valid object (a file: at once; an object store: within the backend's upload
// period, and when the object is destroyed).
class AppendableObject {
 public:
  virtual ~AppendableObject() = default;
  virtual void Append(std::string_view bytes) = 0;
  virtual void Flush() = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;
  // The objects directly inside folder `dir` (not in sub-folders), sorted by name. Throws
  // NotFoundError when a local folder does not exist; an object-store prefix with nothing under it
  // is simply empty.
  virtual std::vector<ObjectInfo> List(const std::string& dir) = 0;
  // The object's size, or nullopt when there is none.
  virtual std::optional<uint64_t> Size(const std::string& path) = 0;
  // Throws NotFoundError when the object is not there.
  virtual std::unique_ptr<ReadableObject> Open(const std::string& path, Access access) = 0;
  virtual std::string ReadAll(const std::string& path) = 0;
  virtual std::unique_ptr<ObjectWriter> Create(const std::string& path) = 0;
  virtual std::unique_ptr<AppendableObject> CreateAppendable(const std::string& path) = 0;
  // Removes the object; one that is not there is not an error.
  virtual void Delete(const std::string& path) = 0;
  // Makes the folder (and its parents) where folders exist; nothing to do in an object store.
  virtual void MakeFolders(const std::string& dir) = 0;
  // Whether reads go over a network, so that readers should fetch ahead (see read_ahead.h).
  virtual bool remote() const = 0;
};

// The backend for `path`: s3://bucket/key, or a local path. The S3 backend reads its credentials
// and endpoint from the environment the first time it is asked for. Throws StorageError for a
// scheme that is not built (gs://, hdfs://), saying which are.
Storage& StorageFor(const std::string& path);

// Convenience over StorageFor(path).Create(path): the pieces in order, then Commit().
void WriteAtomically(const std::string& path, const std::vector<std::string_view>& pieces);

}  // namespace kubecnn::storage

// LocalStorage: files and folders through POSIX calls.
#include "trainer/storage/local_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace kubecnn::storage {
namespace {

namespace fs = std::filesystem;

std::string Errno() { return std::strerror(errno); }

// Write failures (disk full, a volume gone read-only) are the machine's, not the job's: exit 1.
[[noreturn]] void ThrowWriteError(const std::string& what) { throw TransientError(what); }

void WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t wrote = ::write(fd, data.data(), data.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) ThrowWriteError("writing " + path + ": " + Errno() + " (disk full?)");
    data.remove_prefix(static_cast<size_t>(wrote));
  }
}

void FsyncFolderOf(const std::string& path) {
  const std::string dir = fs::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

class LocalFile : public ReadableObject {
 public:
  explicit LocalFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      const std::string why = Errno();
      const std::string message = "opening " + path + ": " + why;
      if (errno == ENOENT) throw NotFoundError(message);
      throw StorageError(message + " (check that it is readable by this user)");
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      const std::string why = Errno();
      ::close(fd_);
      throw TransientError("reading " + path + ": fstat failed: " + why);
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~LocalFile() override { ::close(fd_); }

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }

  bool ReadAt(uint64_t offset, void* buffer, uint64_t n) const override {
    auto* out = static_cast<char*>(buffer);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
      if (got < 0) {
        if (errno == EINTR) continue;
        // The data is not known to be bad, the storage failed: a restart may well read it.
        throw TransientError("reading " + path_ + " at offset " + std::to_string(offset) + ": " + Errno() +
                             " (storage error; check the volume holding it)");
      }
      if (got == 0) return false;
      out += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<uint64_t>(got);
    }
    return true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// "<path>.partial" until Commit(): fsync, rename over `path`, fsync of the folder.
class LocalWriter : public ObjectWriter {
 public:
  explicit LocalWriter(const std::string& path) : path_(path), temp_(path + ".partial") {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) ThrowWriteError("creating " + temp_ + ": " + Errno() + " (is the folder there and writable?)");
  }
  ~LocalWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }
  void Write(std::string_view bytes) override { WriteAll(fd_, bytes, temp_); }
  void Commit() override {
    if (::fsync(fd_) != 0) ThrowWriteError("syncing " + temp_ + ": " + Errno());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) ThrowWriteError("closing " + temp_ + ": " + Errno());
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
      ThrowWriteError("renaming " + temp_ + " to " + path_ + ": " + Errno());
    }
    committed_ = true;
    FsyncFolderOf(path_);
  }

 private:
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

class LocalAppendable : public AppendableObject {
 public:
  explicit LocalAppendable(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) ThrowWriteError("creating " + path + ": " + Errno() + " (is the folder writable?)");
  }
  ~LocalAppendable() override { std::fclose(file_); }
  void Append(std::string_view bytes) override {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      ThrowWriteError("writing " + path_ + ": " + Errno() + " (disk full?)");
    }
  }
  void Flush() override {
    if (std::fflush(file_) != 0) ThrowWriteError("flushing " + path_ + ": " + Errno());
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace

std::vector<ObjectInfo> LocalStorage::List(const std::string& dir) {
  std::vector<ObjectInfo> objects;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    const uintmax_t size = it->file_size(file_ec);
    objects.push_back({it->path().filename().string(), file_ec ? 0 : static_cast<uint64_t>(size)});
  }
  if (ec) {
    const std::string message = "listing " + dir + ": " + ec.message();
    if (ec == std::errc::no_such_file_or_directory) throw NotFoundError(message);
    throw StorageError(message + " (check the path and that the volume is mounted)");
  }
  std::sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return objects;
}

std::optional<uint64_t> LocalStorage::Size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

std::unique_ptr<ReadableObject> LocalStorage::Open(const std::string& path,
                                                   Access /*access: the page cache reads ahead*/) {
  return std::make_unique<LocalFile>(path);
}

std::string LocalStorage::ReadAll(const std::string& path) {
  LocalFile file(path);
  std::string bytes(file.size(), '\0');
  if (!file.ReadAt(0, bytes.data(), bytes.size())) {
    throw TransientError("reading " + path + ": the file shrank while it was read");
  }
  return bytes;
}

std::unique_ptr<ObjectWriter> LocalStorage::Create(const std::string& path) {
  return std::make_unique<LocalWriter>(path);
}

std::unique_ptr<AppendableObject> LocalStorage::CreateAppendable(const std::string& path) {
  return std::make_unique<LocalAppendable>(path);
}

void LocalStorage::Delete(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw StorageError("removing " + path + ": " + Errno());
  }
}

void LocalStorage::MakeFolders(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) ThrowWriteError("creating folder " + dir + ": " + ec.message());
}

}  // namespace kubecnn::storage

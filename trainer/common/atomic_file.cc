// WriteFileAtomically: temp file, fsync, rename, fsync of the directory.
#include "trainer/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace kubecnn {
namespace {

void WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t wrote = ::write(fd, data.data(), data.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) throw AtomicWriteError("writing " + path + ": " + std::strerror(errno) + " (disk full?)");
    data.remove_prefix(static_cast<size_t>(wrote));
  }
}

void FsyncDirectory(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void WriteFileAtomically(const std::string& path, const std::vector<std::string_view>& pieces) {
  const std::string temp = path + ".partial";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw AtomicWriteError("creating " + temp + ": " + std::strerror(errno) + " (is the folder writable?)");
  try {
    for (std::string_view piece : pieces) WriteAll(fd, piece, temp);
    if (::fsync(fd) != 0) throw AtomicWriteError("syncing " + temp + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    std::filesystem::remove(temp);
    throw;
  }
  if (::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    std::filesystem::remove(temp);
    throw AtomicWriteError("closing " + temp + ": " + why);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::filesystem::remove(temp);
    throw AtomicWriteError("renaming " + temp + " to " + path + ": " + why);
  }
  FsyncDirectory(path);
}

}  // namespace kubecnn

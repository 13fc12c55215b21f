// Test helpers for files: the shared testdata folder, scratch directories, whole-file I/O.
#pragma once

#include <string>
#include <vector>

// Skips the test when `condition` holds (test data or a tool is absent), saying `why` — except
// under CI (CI set in the environment), where it fails instead: a suite that skips its real-data
// tests there would pass without proving anything.
#define KUBECNN_SKIP_IF(condition, why)                                                     \
  do {                                                                                      \
    if (condition) {                                                                        \
      if (::kubecnn::testing::UnderCi()) FAIL() << "missing under CI (CI is set): " << why; \
      GTEST_SKIP() << why;                                                                  \
    }                                                                                       \
  } while (0)

namespace kubecnn::testing {

// True when the CI environment variable is set (CI=true in CI runs).
bool UnderCi();

// Absolute path of `relative` under ../shared/testdata (may not exist: check and GTEST_SKIP).
std::string TestdataPath(const std::string& relative);
bool Exists(const std::string& path);

// A fresh directory under the test temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
// Sorted regular files in a directory with the given extension (e.g. ".JPEG"), full paths.
std::vector<std::string> ListFiles(const std::string& dir, const std::string& extension);

}  // namespace kubecnn::testing

// Writing a file so that a reader sees the old one or the whole new one, never half of it, and the
// new one survives a crash once this returns (checkpoints, evaluation results).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn {

// A write that failed; the message names the file and the system's reason.
class AtomicWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes the pieces in order to "<path>.partial", fsyncs it, renames it over `path` and fsyncs
// the directory. On failure the temporary file is removed, `path` is left as it was, and
// AtomicWriteError says what failed.
void WriteFileAtomically(const std::string& path, const std::vector<std::string_view>& pieces);

}  // namespace kubecnn

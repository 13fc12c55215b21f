// The two kinds of errors whose exit code the operator acts on (README: "Exit codes").
#pragma once

#include <stdexcept>

namespace kubecnn {

// Bad configuration, data or checkpoint: running the same command again fails the same way, so the
// CLI exits with code 2, which the operator treats as final (no gang restart).
class PermanentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A fault of the machine rather than of the job (a storage I/O error, say): the same command may
// well succeed on the next try, so the CLI exits with code 1 and the operator restarts the gang.
class TransientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kubecnn

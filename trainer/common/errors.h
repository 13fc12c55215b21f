// The base of errors that a restart cannot fix.
#pragma once

#include <stdexcept>

namespace kubecnn {

// Bad configuration, data or checkpoint: running the same command again fails the same way, so the
// CLI exits with code 2, which the operator treats as final (no gang restart).
class PermanentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kubecnn

// The error type of the input pipeline: a message that says what, where, and what to do.
#pragma once

#include <stdexcept>
#include <string>

#include "trainer/common/errors.h"

namespace kubecnn::data {

// Thrown for bad data or storage problems (unreadable shard, CRC mismatch, missing feature).
// The message names the file and position and ends with a hint in parentheses.
class DataError : public PermanentError {
 public:
  using PermanentError::PermanentError;
};

}  // namespace kubecnn::data

// libFuzzer target: arbitrary bytes read as a TFRecord file (framing, CRCs, resynchronisation, header
// walk) and as tf.train.Example payloads must never crash, leak or hang.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "trainer/data/data_error.h"
#include "trainer/data/image_example.h"
#include "trainer/data/record_index.h"
#include "trainer/data/tfrecord_reader.h"

namespace {

using kubecnn::data::DataError;

// One anonymous in-memory file for the whole run, rewritten for each input; readers open it by path.
int InputFile() {
  static const int fd = [] {
    const int f = memfd_create("tfrecord-fuzz", MFD_CLOEXEC);
    if (f < 0) std::abort();
    return f;
  }();
  return fd;
}

void ParsePayload(std::string_view payload, std::string_view file, int64_t index) {
  try {
    const kubecnn::data::ImageExample example = kubecnn::data::ParseImageExample(payload, {file, index});
    // Touch what was parsed so the work cannot be optimised away.
    if (example.encoded.size() == 1 && example.boxes.size() == 1) std::abort();
  } catch (const DataError&) {
    // Expected for anything that is not an ImageNet-style Example.
  }
  kubecnn::data::DescribeExample(payload);
}

void ReadAll(const std::string& path, bool skip_corrupt) {
  try {
    kubecnn::data::TfRecordReader reader(path, skip_corrupt);
    std::string payload;
    int64_t index = 0;
    while (reader.Next(&payload)) ParsePayload(payload, path, index++);
  } catch (const DataError&) {
    if (skip_corrupt) std::abort();  // with skip_corrupt a corrupt file must not throw
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ParsePayload(bytes, "raw input", 0);

  const int fd = InputFile();
  if (ftruncate(fd, 0) != 0) std::abort();
  if (size > 0 && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  ReadAll(path, /*skip_corrupt=*/true);
  ReadAll(path, /*skip_corrupt=*/false);
  try {
    kubecnn::data::ScanShard(path, /*skip_corrupt=*/true);
  } catch (const DataError&) {
    std::abort();  // skip_corrupt scans pass over damage instead of throwing
  }
  return 0;
}

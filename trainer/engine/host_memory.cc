// glibc malloc settings for CPU training.
#include "trainer/engine/host_memory.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace kubecnn::engine {
namespace {

// The user's own malloc choices win: tunables, MALLOC_*_ variables, or a preloaded allocator.
bool UserTunedMalloc() {
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "GLIBC_TUNABLES=", 15) == 0 || std::strncmp(*e, "MALLOC_", 7) == 0) return true;
  }
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr &&
         (std::strstr(preload, "jemalloc") != nullptr || std::strstr(preload, "tcmalloc") != nullptr ||
          std::strstr(preload, "mimalloc") != nullptr);
}

}  // namespace

bool RetainFreedHostMemory() {
  static const bool applied = [] {
    if (UserTunedMalloc()) return false;
    // No mmap-served blocks (they are unmapped on free) and no trimming of the heap's top (-1
    // turns it off); grow the heap 64 MiB at a time. mallopt returns 1 on success.
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1 && mallopt(M_TOP_PAD, 64 << 20) == 1;
  }();
  return applied;
}

}  // namespace kubecnn::engine

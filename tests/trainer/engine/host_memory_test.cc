// Freed host memory stays in the process once RetainFreedHostMemory ran: a second activation-sized
// block costs no page faults, where glibc's defaults fault every page of it in again.
#include "trainer/engine/host_memory.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

namespace kubecnn::engine {
namespace {

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Page faults of allocating, writing and freeing `bytes` (as a training step does with an activation).
long FaultsOfOneBlock(size_t bytes) {
  const long before = MinorFaults();
  auto* block = static_cast<char*>(std::malloc(bytes));
  std::memset(block, 1, bytes);
  asm volatile("" : : "r"(block) : "memory");  // the compiler may not drop the unread writes
  const long faults = MinorFaults() - before;
  std::free(block);
  return faults;
}

TEST(HostMemory, ARepeatedLargeBlockFaultsOnlyUntilFreedMemoryIsKept) {
  constexpr size_t kBlock = 48 << 20;  // ResNet-50's layer1 output at batch 16 is 51 MB
  constexpr long kPages = kBlock / 4096;
  FaultsOfOneBlock(kBlock);
  // glibc's defaults: mmap'd, unmapped on free, faulted in again (the cost this change removes).
  EXPECT_GT(FaultsOfOneBlock(kBlock), kPages / 2);

  ASSERT_TRUE(RetainFreedHostMemory()) << "ctest runs without MALLOC_* or GLIBC_TUNABLES in the environment";
  FaultsOfOneBlock(kBlock);  // the heap grows to hold it once
  EXPECT_LT(FaultsOfOneBlock(kBlock), kPages / 50);
  EXPECT_TRUE(RetainFreedHostMemory());  // idempotent
}

}  // namespace
}  // namespace kubecnn::engine

// Tests of range_arena: first-fit from the lowest address, page-rounded runs, merged neighbours,
// nullptr when no run is long enough, and loud errors for frees that are not runs of the arena.
#include "trainer/storage/range_arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

namespace kubecnn::storage {
namespace {

constexpr uint64_t kPage = RangeArena::kAlignment;

TEST(RangeArena, HandsOutPageRoundedRunsFromTheLowestAddress) {
  RangeArena arena(16 * kPage);
  char* a = arena.Allocate(1);
  char* b = arena.Allocate(kPage + 1);
  char* c = arena.Allocate(kPage);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(b, a + kPage);
  EXPECT_EQ(c, b + 2 * kPage);
  EXPECT_EQ(arena.free_bytes(), 12 * kPage);
  EXPECT_EQ(arena.high_water(), 4 * kPage);
  std::memset(b, 7, kPage + 1);  // the run is writable memory
  // A freed run is reused first: the arena's pages already faulted in stay the ones in use.
  arena.Free(a, 1);
  EXPECT_EQ(arena.Allocate(100), a);
  EXPECT_EQ(arena.high_water(), 4 * kPage);
}

TEST(RangeArena, MergesFreedNeighboursIntoOneRun) {
  RangeArena arena(8 * kPage);
  char* a = arena.Allocate(2 * kPage);
  char* b = arena.Allocate(2 * kPage);
  char* c = arena.Allocate(2 * kPage);
  char* d = arena.Allocate(2 * kPage);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(arena.Allocate(1), nullptr);  // full
  arena.Free(a, 2 * kPage);
  arena.Free(c, 2 * kPage);
  EXPECT_EQ(arena.largest_free_run(), 2 * kPage);
  EXPECT_EQ(arena.Allocate(3 * kPage), nullptr);  // 4 pages free, none 3 in a row
  arena.Free(b, 2 * kPage);                       // joins a's run and c's
  EXPECT_EQ(arena.largest_free_run(), 6 * kPage);
  EXPECT_EQ(arena.Allocate(6 * kPage), a);
  arena.Free(d, 2 * kPage);
  arena.Free(a, 6 * kPage);
  EXPECT_EQ(arena.free_bytes(), 8 * kPage);
  EXPECT_EQ(arena.largest_free_run(), 8 * kPage);
}

TEST(RangeArena, ARunLongerThanTheArenaIsNullNotAnError) {
  RangeArena arena(4 * kPage);
  EXPECT_EQ(arena.Allocate(4 * kPage + 1), nullptr);
  EXPECT_NE(arena.Allocate(4 * kPage), nullptr);
}

TEST(RangeArena, FreeingTwiceOrForeignMemoryIsALogicError) {
  RangeArena arena(8 * kPage);
  char* a = arena.Allocate(2 * kPage);
  char* b = arena.Allocate(kPage);
  arena.Free(a, 2 * kPage);
  EXPECT_THROW(arena.Free(a, 2 * kPage), std::logic_error);
  EXPECT_THROW(arena.Free(a + kPage, kPage), std::logic_error);  // inside a free run
  char elsewhere[16];
  EXPECT_THROW(arena.Free(elsewhere, 16), std::logic_error);
  EXPECT_THROW(arena.Free(b + 1, 1), std::logic_error);  // not a run's start
  arena.Free(b, kPage);
  EXPECT_EQ(arena.free_bytes(), 8 * kPage);
}

}  // namespace
}  // namespace kubecnn::storage

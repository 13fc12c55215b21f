// Tests of local_storage: listing, atomic writes that never show a partial file, appendables.
#include "trainer/storage/local_storage.h"

#include <gtest/gtest.h>

#include "tests/support/test_files.h"

namespace kubecnn::storage {
namespace {

using testing::ScratchDir;

TEST(LocalStorage, ListsFilesOnlySortedWithSizes) {
  ScratchDir dir;
  LocalStorage store;
  WriteAtomically(dir / "b", {"12345"});
  WriteAtomically(dir / "a", {"1", "2"});
  store.MakeFolders(dir / "sub");
  const auto objects = store.List(dir.path());
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].name, "a");
  EXPECT_EQ(objects[0].size, 2u);
  EXPECT_EQ(objects[1].name, "b");
  EXPECT_EQ(objects[1].size, 5u);
  EXPECT_THROW(store.List(dir / "missing"), NotFoundError);
}

TEST(LocalStorage, AWriterShowsNothingUntilCommitAndLeavesNothingWhenAbandoned) {
  ScratchDir dir;
  LocalStorage store;
  WriteAtomically(dir / "ckpt", {"old"});
  {
    auto writer = store.Create(dir / "ckpt");
    writer->Write("new bytes");
    EXPECT_EQ(store.ReadAll(dir / "ckpt"), "old");
  }  // abandoned: the old one stays, no temp file lingers
  EXPECT_EQ(store.ReadAll(dir / "ckpt"), "old");
  EXPECT_EQ(store.List(dir.path()).size(), 1u);
  auto writer = store.Create(dir / "ckpt");
  writer->Write("new ");
  writer->Write("bytes");
  writer->Commit();
  EXPECT_EQ(store.ReadAll(dir / "ckpt"), "new bytes");
}

TEST(LocalStorage, ReadsRangesAndReportsTheEnd) {
  ScratchDir dir;
  LocalStorage store;
  WriteAtomically(dir / "f", {"0123456789"});
  auto file = store.Open(dir / "f", Access::kRandom);
  EXPECT_EQ(file->size(), 10u);
  char buf[4];
  ASSERT_TRUE(file->ReadAt(3, buf, 4));
  EXPECT_EQ(std::string(buf, 4), "3456");
  EXPECT_FALSE(file->ReadAt(8, buf, 4));
  EXPECT_THROW(store.Open(dir / "none", Access::kRandom), NotFoundError);
  EXPECT_EQ(store.Size(dir / "none"), std::nullopt);
  store.Delete(dir / "none");  // absent: fine
  store.Delete(dir / "f");
  EXPECT_EQ(store.Size(dir / "f"), std::nullopt);
}

TEST(LocalStorage, AppendableIsVisibleAfterEachFlush) {
  ScratchDir dir;
  LocalStorage store;
  auto events = store.CreateAppendable(dir / "events");
  events->Append("one");
  events->Flush();
  EXPECT_EQ(store.ReadAll(dir / "events"), "one");
  events->Append("two");
  events->Flush();
  EXPECT_EQ(store.ReadAll(dir / "events"), "onetwo");
}

TEST(StorageFor, RefusesSchemesThatAreNotBuiltSayingWhatIs) {
  try {
    StorageFor("hdfs://namenode/data");
    FAIL() << "hdfs:// accepted";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("local paths and s3:// URLs"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(StorageFor("/tmp").remote());
}

}  // namespace
}  // namespace kubecnn::storage

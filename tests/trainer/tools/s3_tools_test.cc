// make-shards, index and inspect with s3:// paths against a real Ceph RGW: the objects they write
// are byte for byte the files they write locally, and the output guard works on a bucket too.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "tests/support/s3_server.h"
#include "tests/support/test_files.h"
#include "tests/trainer/tools/shard_reading.h"
#include "trainer/data/data_error.h"
#include "trainer/tools/index_shards.h"
#include "trainer/tools/inspect.h"
#include "trainer/tools/make_shards.h"

namespace kubecnn::tools {
namespace {

namespace fs = std::filesystem;
using kubecnn::testing::CephObjectGateway;
using kubecnn::testing::ScratchDir;

class S3ToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_WITHOUT_CEPH();
    const std::string samples = kubecnn::testing::TestdataPath("jpeg-imagenet-samples");
    KUBECNN_SKIP_IF(!kubecnn::testing::Exists(samples), samples << " absent");
    const std::vector<std::string> jpegs = kubecnn::testing::ListFiles(samples, ".JPEG");
    ASSERT_GE(jpegs.size(), 9u);
    for (size_t i = 0; i < 9; ++i) {
      const std::string class_dir = images_ / ("n0" + std::to_string(i % 3) + "000000");
      fs::create_directories(class_dir);
      fs::copy_file(jpegs[i], class_dir + "/" + fs::path(jpegs[i]).filename().string());
    }
    gateway_ = &CephObjectGateway::Shared();
    setenv("AWS_ACCESS_KEY_ID", gateway_->account().access_key.c_str(), 1);
    setenv("AWS_SECRET_ACCESS_KEY", gateway_->account().secret_key.c_str(), 1);
    setenv("AWS_ENDPOINT_URL_S3", gateway_->endpoint().c_str(), 1);
    bucket_ = gateway_->CreateUniqueBucket("tools");
  }
  std::vector<std::string> MakeShardsArgs(const std::string& output) const {
    return {"--input_dir=" + images_.path(), "--train_shards=2", "--output_dir=" + output, "--num_threads=2"};
  }
  // Every object under prefix/ with its bytes, keyed by the name after the prefix.
  std::map<std::string, std::string> BucketContents(const std::string& prefix) const {
    std::map<std::string, std::string> contents;
    for (const std::string& key : gateway_->ListKeys(bucket_, prefix + "/")) {
      contents[key.substr(prefix.size() + 1)] = gateway_->GetObject(bucket_, key).value_or("");
    }
    return contents;
  }

  ScratchDir images_;
  CephObjectGateway* gateway_ = nullptr;
  std::string bucket_;
};

TEST_F(S3ToolsTest, MakeShardsWritesTheSameBytesToABucketAsToAFolder) {
  ScratchDir local;
  ASSERT_EQ(RunMakeShards(MakeShardsArgs(local.path())), 0);
  ASSERT_EQ(RunMakeShards(MakeShardsArgs("s3://" + bucket_ + "/imagenet")), 0);
  const auto files = testing::DirectoryContents(local.path());
  ASSERT_EQ(files.size(), 5u);  // 2 shards, 2 .idx files, labels.txt
  EXPECT_EQ(BucketContents("imagenet"), files);
  // The guard: a second conversion into the same prefix is refused, --overwrite replaces.
  EXPECT_THROW(RunMakeShards(MakeShardsArgs("s3://" + bucket_ + "/imagenet")), data::DataError);
  std::vector<std::string> overwrite = MakeShardsArgs("s3://" + bucket_ + "/imagenet");
  overwrite.push_back("--overwrite");
  EXPECT_EQ(RunMakeShards(overwrite), 0);
  EXPECT_EQ(BucketContents("imagenet"), files);
}

TEST_F(S3ToolsTest, IndexAndInspectReadShardsInABucket) {
  ScratchDir local;
  ASSERT_EQ(RunMakeShards(MakeShardsArgs(local.path())), 0);
  for (const auto& [name, bytes] : testing::DirectoryContents(local.path())) {
    if (name.find(".idx") == std::string::npos) gateway_->PutObject(bucket_, "copied/" + name, bytes);
  }
  ASSERT_EQ(RunIndexShards({"s3://" + bucket_ + "/copied"}), 0);
  for (const char* shard : {"train-00000-of-00002", "train-00001-of-00002"}) {
    SCOPED_TRACE(shard);
    EXPECT_EQ(gateway_->GetObject(bucket_, std::string("copied/") + shard + ".idx"),
              kubecnn::testing::ReadFile(local / (std::string(shard) + ".idx")));
    const FileInspection remote = InspectFile("s3://" + bucket_ + "/copied/" + shard, InspectOptions{});
    const FileInspection disk = InspectFile(local / shard, InspectOptions{});
    EXPECT_EQ(remote.records, disk.records);
    EXPECT_EQ(remote.payload_bytes, disk.payload_bytes);
    EXPECT_TRUE(remote.corrupt.empty());
  }
  EXPECT_THROW(RunIndexShards({"s3://" + bucket_ + "/nothing-here"}), data::DataError);
}

}  // namespace
}  // namespace kubecnn::tools

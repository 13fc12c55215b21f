// Reading make-shards output back for assertions.
#include "tests/trainer/tools/shard_reading.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_files.h"
#include "trainer/data/dataset_files.h"
#include "trainer/data/tfrecord_reader.h"

namespace kubecnn::tools::testing {

std::vector<ReadRecord> ReadSplit(const std::string& dir, const std::string& split) {
  std::vector<ReadRecord> records;
  for (const std::string& shard : data::FindShards(dir, split)) {
    data::TfRecordReader reader(shard);
    std::string payload;
    while (reader.Next(&payload)) {
      ReadRecord record;
      record.shard = std::filesystem::path(shard).filename().string();
      EXPECT_TRUE(record.example.ParseFromString(payload)) << shard << " at " << reader.record_offset();
      records.push_back(std::move(record));
    }
  }
  return records;
}

std::string BytesFeature(const tf::Example& example, const std::string& key) {
  const auto& map = example.features().feature();
  const auto it = map.find(key);
  if (it == map.end() || it->second.bytes_list().value_size() != 1) {
    ADD_FAILURE() << "feature " << key << " missing or not one bytes value";
    return "";
  }
  return it->second.bytes_list().value(0);
}

int64_t IntFeature(const tf::Example& example, const std::string& key) {
  const auto& map = example.features().feature();
  const auto it = map.find(key);
  if (it == map.end() || it->second.int64_list().value_size() != 1) {
    ADD_FAILURE() << "feature " << key << " missing or not one int64 value";
    return -1;
  }
  return it->second.int64_list().value(0);
}

std::map<std::string, std::string> DirectoryContents(const std::string& dir) {
  std::map<std::string, std::string> contents;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    contents[entry.path().filename().string()] = kubecnn::testing::ReadFile(entry.path().string());
  }
  return contents;
}

}  // namespace kubecnn::tools::testing

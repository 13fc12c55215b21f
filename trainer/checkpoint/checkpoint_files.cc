// Checkpoint naming, and listing and pruning through the storage layer (folders or s3:// prefixes).
#include "trainer/checkpoint/checkpoint_files.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "trainer/common/log.h"
#include "trainer/storage/storage.h"
#include "trainer/storage/storage_path.h"

namespace kubecnn::checkpoint {
namespace {

constexpr std::string_view kPrefix = "model.ckpt-";
constexpr std::string_view kSuffix = ".pt";

std::vector<std::string> DirectoryNames(const std::string& dir) {
  std::vector<std::string> names;
  try {
    for (const storage::ObjectInfo& object : storage::StorageFor(dir).List(dir)) names.push_back(object.name);
  } catch (const storage::NotFoundError&) {
    // a --log_dir that does not exist yet simply has no checkpoints
  }
  return names;
}

}  // namespace

std::string CheckpointFileName(int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model.ckpt-%09lld.pt", static_cast<long long>(step));
  return buf;
}

std::optional<int64_t> ParseCheckpointFileName(std::string_view name) {
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  int64_t step = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (ec != std::errc() || end != digits.data() + digits.size() || step < 0) return std::nullopt;
  return step;
}

std::vector<std::string> SortCheckpoints(const std::vector<std::string>& file_names) {
  std::vector<std::pair<int64_t, std::string>> found;
  for (const std::string& name : file_names) {
    if (auto step = ParseCheckpointFileName(name)) found.emplace_back(*step, name);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [_, name] : found) out.push_back(std::move(name));
  return out;
}

std::vector<std::string> CheckpointsToPrune(const std::vector<std::string>& file_names, int keep) {
  std::vector<std::string> sorted = SortCheckpoints(file_names);
  if (keep <= 0 || sorted.size() <= static_cast<size_t>(keep)) return {};
  sorted.resize(sorted.size() - static_cast<size_t>(keep));
  return sorted;
}

std::vector<std::string> ListCheckpoints(const std::string& log_dir) {
  std::vector<std::string> paths;
  for (const std::string& name : SortCheckpoints(DirectoryNames(log_dir))) {
    paths.push_back(storage::JoinPath(log_dir, name));
  }
  return paths;
}

std::optional<std::string> NewestCheckpoint(const std::string& log_dir) {
  auto all = ListCheckpoints(log_dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

void PruneCheckpoints(const std::string& log_dir, int keep) {
  for (const std::string& name : CheckpointsToPrune(DirectoryNames(log_dir), keep)) {
    try {
      storage::StorageFor(log_dir).Delete(storage::JoinPath(log_dir, name));
    } catch (const std::exception& e) {  // an old checkpoint left over is no reason to stop training
      LogWarning("checkpoint", std::string("could not remove an old checkpoint: ") + e.what());
    }
  }
}

}  // namespace kubecnn::checkpoint

// Shard discovery: parse names, check the set is complete, explain what is missing.
#include "trainer/data/dataset_files.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>

#include "trainer/data/data_error.h"
#include "trainer/storage/storage.h"
#include "trainer/storage/storage_path.h"

namespace kubecnn::data {
namespace {

std::optional<int> ParseDigits(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string JoinFirst(const std::vector<std::string>& items, size_t limit) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size() - limit) + " more)";
  return out;
}

}  // namespace

std::optional<ShardName> ParseShardName(std::string_view name) {
  const size_t of = name.rfind("-of-");
  if (of == std::string_view::npos) return std::nullopt;
  const size_t dash = name.rfind('-', of - 1);
  if (dash == std::string_view::npos || dash == 0 || of == 0) return std::nullopt;
  const auto index = ParseDigits(name.substr(dash + 1, of - dash - 1));
  const auto count = ParseDigits(name.substr(of + 4));
  if (!index || !count || *count == 0 || *index >= *count) return std::nullopt;
  return ShardName{std::string(name.substr(0, dash)), *index, *count};
}

std::string ShardFileName(std::string_view split, int index, int count) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "-%05d-of-%05d", index, count);
  return std::string(split) + buf;
}

SplitListing ListSplit(const std::vector<std::string>& file_names, std::string_view split) {
  std::map<int, std::map<int, std::string>> by_count;  // count -> index -> name
  for (const std::string& name : file_names) {
    const auto parsed = ParseShardName(name);
    if (parsed && parsed->split == split) by_count[parsed->count][parsed->index] = name;
  }
  SplitListing listing;
  if (by_count.empty()) return listing;
  // The count most files agree on is the data set; others are leftovers of another conversion.
  auto best = std::max_element(by_count.begin(), by_count.end(),
                               [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
  for (const auto& [count, names] : by_count) {
    if (count == best->first) continue;
    for (const auto& [_, name] : names) listing.conflicts.push_back(name);
  }
  const int count = best->first;
  for (int i = 0; i < count; ++i) {
    const auto it = best->second.find(i);
    if (it == best->second.end()) {
      listing.missing.push_back(ShardFileName(split, i, count));
    } else {
      listing.shards.push_back(it->second);
    }
  }
  return listing;
}

std::vector<std::string> FindShards(const std::string& dir, std::string_view split) {
  std::vector<std::string> names;
  try {
    for (const storage::ObjectInfo& object : storage::StorageFor(dir).List(dir)) names.push_back(object.name);
  } catch (const storage::NotFoundError& e) {
    throw DataError("--data_dir: " + std::string(e.what()) + " (check the path and that the data volume is mounted)");
  }
  const SplitListing listing = ListSplit(names, split);
  if (listing.shards.empty() && listing.missing.empty()) {
    throw DataError(
        "--data_dir " + dir + " holds no " + std::string(split) +
        "-NNNNN-of-NNNNN shards (make them with `kubecnn-trainer make-shards`, or omit --data_dir for synthetic data)");
  }
  if (!listing.missing.empty()) {
    throw DataError("--data_dir " + dir + ": " + std::to_string(listing.missing.size()) + " of " +
                    std::to_string(listing.missing.size() + listing.shards.size()) + " " + std::string(split) +
                    " shards are missing: " + JoinFirst(listing.missing, 10) +
                    " (copy them in; training on a partial set would silently skew the classes)");
  }
  if (!listing.conflicts.empty()) {
    throw DataError("--data_dir " + dir + " mixes shard sets of different sizes: " + JoinFirst(listing.conflicts, 5) +
                    " do not belong to the " + std::to_string(listing.shards.size()) +
                    "-shard set (remove the stale files)");
  }
  std::vector<std::string> paths;
  for (const std::string& name : listing.shards) paths.push_back(storage::JoinPath(dir, name));
  return paths;
}

}  // namespace kubecnn::data

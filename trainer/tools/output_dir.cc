// Output directory checks: what counts as an earlier conversion's file, and refusing or clearing it.
#include "trainer/tools/output_dir.h"

#include <algorithm>

#include "trainer/data/data_error.h"
#include "trainer/data/dataset_files.h"
#include "trainer/storage/storage.h"
#include "trainer/storage/storage_path.h"
#include "trainer/tools/labels_file.h"

namespace kubecnn::tools {
namespace {

std::string_view StripSuffix(std::string_view name, std::string_view suffix) {
  if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
    name.remove_suffix(suffix.size());
  }
  return name;
}

}  // namespace

std::vector<std::string> ExistingDataSetFiles(const std::vector<std::string>& file_names,
                                              const std::vector<std::string>& splits) {
  std::vector<std::string> found;
  for (const std::string& name : file_names) {
    std::string_view base = StripSuffix(name, ".partial");
    if (base == kLabelsFileName) {
      found.push_back(name);
      continue;
    }
    base = StripSuffix(base, ".idx");
    const auto shard = data::ParseShardName(base);
    if (shard && std::find(splits.begin(), splits.end(), shard->split) != splits.end()) found.push_back(name);
  }
  return found;
}

int PrepareOutputDir(const std::string& dir, const std::vector<std::string>& splits, bool overwrite) {
  storage::Storage& store = storage::StorageFor(dir);
  try {
    store.MakeFolders(dir);
  } catch (const std::exception& e) {
    throw data::DataError("creating --output_dir: " + std::string(e.what()) +
                          " (check the path and that its parent is writable)");
  }
  std::vector<std::string> names;
  for (const storage::ObjectInfo& object : store.List(dir)) names.push_back(object.name);
  const std::vector<std::string> existing = ExistingDataSetFiles(names, splits);
  if (existing.empty()) return 0;
  if (!overwrite) {
    std::string listed;
    for (size_t i = 0; i < existing.size() && i < 5; ++i) listed += (i ? ", " : "") + existing[i];
    if (existing.size() > 5) listed += ", ... (" + std::to_string(existing.size() - 5) + " more)";
    throw data::DataError("--output_dir " + dir + " already holds " + std::to_string(existing.size()) +
                          " files of a converted data set: " + listed +
                          " (pass --overwrite to replace them, or choose an empty --output_dir)");
  }
  for (const std::string& name : existing) store.Delete(storage::JoinPath(dir, name));
  return static_cast<int>(existing.size());
}

}  // namespace kubecnn::tools

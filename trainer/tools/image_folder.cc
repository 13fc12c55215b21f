// Deterministic folder listing: names sorted bytewise, hidden entries ignored.
#include "trainer/tools/image_folder.h"

#include <algorithm>
#include <filesystem>

#include "trainer/data/data_error.h"

namespace kubecnn::tools {
namespace {

namespace fs = std::filesystem;
using data::DataError;

bool Hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// Sorted non-hidden entries of `dir` that are directories (want_dirs) or regular files.
std::vector<std::string> ListEntries(const fs::path& dir, bool want_dirs, const std::string& what) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (Hidden(it->path())) continue;
    std::error_code type_ec;  // follows symlinks, so linked class folders and images work
    const bool match = want_dirs ? it->is_directory(type_ec) : it->is_regular_file(type_ec);
    if (match) names.push_back(it->path().filename().string());
  }
  if (ec)
    throw DataError("listing " + what + " " + dir.string() + ": " + ec.message() + " (check the path and permissions)");
  std::sort(names.begin(), names.end());
  return names;
}

ImageFolder List(const std::string& dir, const std::vector<std::string>* fixed_classes) {
  const std::vector<std::string> folders = ListEntries(dir, true, "image folder");
  if (folders.empty()) {
    const bool has_files = !ListEntries(dir, false, "image folder").empty();
    throw DataError("image folder " + dir + " has no class sub-folders" +
                    (has_files ? " but holds files directly" : "") +
                    " (expected DIR/<class>/<image>, e.g. DIR/n01440764/n01440764_10026.JPEG; a flat ILSVRC "
                    "validation folder must first be sorted into one sub-folder per synset)");
  }
  ImageFolder folder;
  folder.classes = fixed_classes ? *fixed_classes : folders;
  for (const std::string& name : folders) {
    const auto it = std::find(folder.classes.begin(), folder.classes.end(), name);
    if (it == folder.classes.end()) {
      throw DataError("validation folder " + dir + " has a sub-folder '" + name +
                      "' that is not a class of the training folder (both folders must use the same class names)");
    }
  }
  for (size_t c = 0; c < folder.classes.size(); ++c) {
    const fs::path class_dir = fs::path(dir) / folder.classes[c];
    std::vector<std::string> files;
    if (std::binary_search(folders.begin(), folders.end(), folder.classes[c])) {
      files = ListEntries(class_dir, false, "class folder");
    }
    if (files.empty()) folder.empty_classes.push_back(folder.classes[c]);
    for (const std::string& file : files) folder.images.push_back({(class_dir / file).string(), static_cast<int>(c)});
  }
  return folder;
}

}  // namespace

ImageFolder ListImageFolder(const std::string& dir) { return List(dir, nullptr); }

ImageFolder ListImageFolder(const std::string& dir, const std::vector<std::string>& classes) {
  return List(dir, &classes);
}

}  // namespace kubecnn::tools

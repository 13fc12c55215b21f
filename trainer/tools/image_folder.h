// Listing an ImageNet-style image folder: one sub-folder per class (DIR/n01440764/*.JPEG).
#pragma once

#include <string>
#include <vector>

namespace kubecnn::tools {

struct FolderImage {
  std::string path;
  int class_index = 0;  // 0-based position in ImageFolder::classes
};

struct ImageFolder {
  std::vector<std::string> classes;        // sub-folder names, sorted
  std::vector<FolderImage> images;         // sorted by class, then file name
  std::vector<std::string> empty_classes;  // sub-folders without files
};

// Lists `dir`: every non-hidden sub-folder is a class (sorted by name), every non-hidden regular
// file inside it an image (deeper folders are ignored). Throws DataError when `dir` is unreadable
// or holds no class sub-folders.
ImageFolder ListImageFolder(const std::string& dir);

// As above, but the class list is fixed (a validation folder must use the training labels):
// a sub-folder that is not one of `classes` throws DataError; classes without a folder are empty.
ImageFolder ListImageFolder(const std::string& dir, const std::vector<std::string>& classes);

}  // namespace kubecnn::tools

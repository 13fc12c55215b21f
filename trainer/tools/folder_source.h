// make-shards input (a): an ImageNet-style class-per-folder tree, JPEG bytes copied as they are.
#pragma once

#include <string>
#include <string_view>

#include "trainer/tools/dataset_source.h"

namespace kubecnn::tools {

struct FolderSourceOptions {
  std::string train_dir;         // --input_dir
  std::string validation_dir;    // --validation_dir, optional
  std::string class_names_file;  // --class_names, optional
};

// Classes are train_dir's sorted sub-folders, labelled 1..N; text from the class-names file,
// else the folder name. Throws DataError for unreadable folders or a class-names file that
// names none of the classes; logs warnings for empty classes and classes without a name.
DatasetSource FolderDataset(const FolderSourceOptions& options);

// The record for one image file's bytes: the JPEG as-is with its header's size and colour
// space, or a skip reason naming `path` when the bytes are not a readable JPEG.
RecordOutcome FolderImageRecord(std::string_view bytes, const std::string& path, const ClassEntry& entry);

}  // namespace kubecnn::tools

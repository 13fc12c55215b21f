// Image-folder conversion: listing, labels, and one record per JPEG file.
#include "trainer/tools/folder_source.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "trainer/common/log.h"
#include "trainer/data/data_error.h"
#include "trainer/data/image_example.h"
#include "trainer/tools/class_names.h"
#include "trainer/tools/image_folder.h"
#include "trainer/tools/jpeg_info.h"

namespace kubecnn::tools {
namespace {

std::string ReadImageFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::string bytes;
  if (in) {
    bytes.resize(static_cast<size_t>(std::max<std::streamoff>(in.tellg(), 0)));
    in.seekg(0);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  if (!in) {
    throw data::DataError("reading image " + path + ": " + std::strerror(errno) +
                          " (check permissions and the storage; remove the file to convert without it)");
  }
  return bytes;
}

std::vector<ClassEntry> MakeClasses(const std::vector<std::string>& folders, const std::string& class_names_file) {
  std::map<std::string, std::string> names;
  if (!class_names_file.empty()) names = ReadClassNames(class_names_file);
  std::vector<ClassEntry> classes;
  std::vector<std::string> unnamed;
  for (size_t i = 0; i < folders.size(); ++i) {
    const auto it = names.find(folders[i]);
    if (it == names.end()) unnamed.push_back(folders[i]);
    classes.push_back({static_cast<int64_t>(i + 1), folders[i], it == names.end() ? folders[i] : it->second});
  }
  if (!class_names_file.empty() && unnamed.size() == folders.size()) {
    throw data::DataError("--class_names " + class_names_file + " names none of the " + std::to_string(folders.size()) +
                          " class folders (e.g. '" + folders[0] +
                          "'; expected lines \"<folder name> <class name>\", such as ImageNet's synset_words.txt)");
  }
  if (!class_names_file.empty() && !unnamed.empty()) {
    LogWarning("make-shards", std::to_string(unnamed.size()) + " classes have no line in " + class_names_file +
                                  " (e.g. '" + unnamed[0] + "'); their folder name is used as image/class/text");
  }
  return classes;
}

SplitSource MakeSplit(std::string name, const ImageFolder& folder,
                      std::shared_ptr<const std::vector<ClassEntry>> classes) {
  if (!folder.empty_classes.empty()) {
    LogWarning("make-shards", name + ": " + std::to_string(folder.empty_classes.size()) +
                                  " classes have no images (e.g. '" + folder.empty_classes[0] + "')");
  }
  auto images = std::make_shared<const std::vector<FolderImage>>(folder.images);
  SplitSource split;
  split.name = std::move(name);
  split.count = images->size();
  split.make = [images, classes](size_t item) {
    const FolderImage& image = (*images)[item];
    return FolderImageRecord(ReadImageFile(image.path), image.path, (*classes)[static_cast<size_t>(image.class_index)]);
  };
  return split;
}

}  // namespace

RecordOutcome FolderImageRecord(std::string_view bytes, const std::string& path, const ClassEntry& entry) {
  std::string error;
  const std::optional<JpegInfo> info = ReadJpegInfo(bytes, &error);
  if (!info) return {"", path + ": " + error};
  data::ImageExampleFields fields;
  fields.encoded = bytes;
  fields.label = entry.label;
  fields.height = info->height;
  fields.width = info->width;
  fields.channels = info->channels;
  fields.colorspace = info->colorspace;
  fields.format = "JPEG";
  fields.class_text = entry.text;
  fields.synset = entry.synset;
  const std::string file_name = std::filesystem::path(path).filename().string();
  fields.filename = file_name;
  return {data::SerializeImageExample(fields), ""};
}

DatasetSource FolderDataset(const FolderSourceOptions& options) {
  const ImageFolder train = ListImageFolder(options.train_dir);
  auto classes = std::make_shared<const std::vector<ClassEntry>>(MakeClasses(train.classes, options.class_names_file));
  DatasetSource source;
  source.classes = *classes;
  source.default_train_shards = 1024;  // ImageNet's conventional layout (build_imagenet_data)
  source.default_validation_shards = 128;
  source.splits.push_back(MakeSplit("train", train, classes));
  if (!options.validation_dir.empty()) {
    source.splits.push_back(MakeSplit("validation", ListImageFolder(options.validation_dir, train.classes), classes));
  }
  return source;
}

}  // namespace kubecnn::tools

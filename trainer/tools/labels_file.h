// labels.txt beside the shards: "label<TAB>text", or "label<TAB>synset<TAB>text" when classes have synsets.
#pragma once

#include <string>
#include <vector>

#include "trainer/tools/dataset_source.h"

namespace kubecnn::tools {

inline constexpr const char* kLabelsFileName = "labels.txt";

// One line per class in label order, e.g. "1\tn01440764\ttench, Tinca tinca\n" or "1\tT-shirt/top\n".
std::string FormatLabelsFile(const std::vector<ClassEntry>& classes);

// Writes FormatLabelsFile to `path` atomically (temp file + rename). Throws DataError.
void WriteLabelsFile(const std::string& path, const std::vector<ClassEntry>& classes);

}  // namespace kubecnn::tools

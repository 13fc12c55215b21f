// labels.txt formatting and atomic writing.
#include "trainer/tools/labels_file.h"

#include "trainer/storage/storage.h"

namespace kubecnn::tools {

std::string FormatLabelsFile(const std::vector<ClassEntry>& classes) {
  std::string out;
  for (const ClassEntry& c : classes) {
    out += std::to_string(c.label) + "\t";
    if (!c.synset.empty()) out += c.synset + "\t";
    out += c.text + "\n";
  }
  return out;
}

void WriteLabelsFile(const std::string& path, const std::vector<ClassEntry>& classes) {
  storage::WriteAtomically(path, {FormatLabelsFile(classes)});
}

}  // namespace kubecnn::tools

// labels.txt formatting and atomic writing.
#include "trainer/tools/labels_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "trainer/data/data_error.h"

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
  const std::string temp = path + ".partial";
  const std::string text = FormatLabelsFile(classes);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      throw data::DataError("writing " + temp + ": " + std::strerror(errno) +
                            " (disk full or read-only --output_dir?)");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    throw data::DataError("renaming " + temp + " to " + path + ": " + std::strerror(errno));
  }
}

}  // namespace kubecnn::tools

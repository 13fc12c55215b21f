// Class-name file parsing: the first whitespace-separated word is the synset, the rest the name.
#include "trainer/tools/class_names.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "trainer/data/data_error.h"

namespace kubecnn::tools {
namespace {

constexpr std::string_view kSpace = " \t\r";

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

}  // namespace

std::map<std::string, std::string> ParseClassNames(std::string_view text, const std::string& source) {
  std::map<std::string, std::string> names;
  int line_number = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const std::string_view line = Trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    const size_t gap = line.find_first_of(kSpace);
    const std::string_view name = gap == std::string_view::npos ? std::string_view() : Trim(line.substr(gap));
    if (name.empty()) {
      throw data::DataError(source + ":" + std::to_string(line_number) + ": '" + std::string(line) +
                            "' has no class name (expected \"<synset><TAB or space><name>\" per line)");
    }
    names[std::string(line.substr(0, gap))] = std::string(name);
  }
  return names;
}

std::map<std::string, std::string> ReadClassNames(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data::DataError("opening --class_names " + path + ": " + std::strerror(errno) + " (check the path)");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseClassNames(text.str(), path);
}

}  // namespace kubecnn::tools

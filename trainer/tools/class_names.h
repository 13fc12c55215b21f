// Human-readable class names for synsets, from a "synset<TAB or space>name" file such as
// ImageNet's synset_words.txt or inception's imagenet_metadata.txt.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace kubecnn::tools {

// Parses the text: one "synset name..." per line; blank lines and '#' comments are skipped.
// A line without a name throws DataError naming `source` and the line number.
std::map<std::string, std::string> ParseClassNames(std::string_view text, const std::string& source);

// Reads and parses `path`; throws DataError if unreadable.
std::map<std::string, std::string> ReadClassNames(const std::string& path);

}  // namespace kubecnn::tools

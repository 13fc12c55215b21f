// Small strict parsers shared by the optimisation flag grammars (numbers, lists, trimming).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::optim {

// Without leading and trailing spaces and tabs.
std::string_view Trim(std::string_view text);

// Pieces between separators, each trimmed; an empty text gives one empty piece.
std::vector<std::string_view> Split(std::string_view text, char separator);

// The whole text as a number ("1e-4", "0.1", "150000"), or nullopt when anything is left over or
// the value is not finite / out of range.
std::optional<double> ParseDouble(std::string_view text);
std::optional<int64_t> ParseInt64(std::string_view text);

// Shortest text that parses back to exactly `value` ("0.1", "1e-05"); whole numbers in full
// ("300000", not "3e+05").
std::string FormatDouble(double value);

}  // namespace kubecnn::optim

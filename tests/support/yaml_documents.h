// The YAML documents of a manifest file ("---"-separated, as kubectl apply -f reads them), as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kubecnn::testing {

// Every non-empty document of the file at `path`, in order. Throws std::runtime_error naming the
// file (and, for a syntax error, the line within its document) when it cannot be read or parsed.
std::vector<nlohmann::json> LoadYamlDocuments(const std::string& path);

}  // namespace kubecnn::testing

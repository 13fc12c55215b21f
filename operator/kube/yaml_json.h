// YAML documents as JSON values (kubeconfig files, apply patches, manifests).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kubecnn::kube {

// Parses the first YAML document in `text`. Untagged plain scalars become null, booleans, integers
// or floats by YAML 1.2's core schema; quoted scalars stay strings. Throws std::invalid_argument
// with the line and column of a syntax error.
nlohmann::json ParseYaml(const std::string& text);

}  // namespace kubecnn::kube

// JSON objects printed as kubectl prints YAML (-o yaml): block style, keys in order, strings that
// would read back as another type quoted.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kubecnn::plugin {

// ParseYaml (operator/kube/yaml_json.h) of the result gives `value` back.
std::string ToYaml(const nlohmann::json& value);

}  // namespace kubecnn::plugin

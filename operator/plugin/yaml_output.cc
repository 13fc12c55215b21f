// JSON -> YAML through yaml-cpp's emitter.
#include "operator/plugin/yaml_output.h"

#include <yaml-cpp/yaml.h>

#include "operator/kube/yaml_json.h"

namespace kubecnn::plugin {
namespace {

// A string kept plain when YAML would read it back as the same string.
bool NeedsQuotes(const std::string& text) {
  if (text.empty()) return true;
  try {
    const nlohmann::json back = kube::ParseYaml("v: " + text);
    return !back.is_object() || !back["v"].is_string() || back["v"].get<std::string>() != text;
  } catch (const std::invalid_argument&) {
    return true;
  }
}

void Emit(YAML::Emitter& out, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, item] : v.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(out, item);
      }
      out << YAML::EndMap;
      return;
    case nlohmann::json::value_t::array:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const nlohmann::json& item : v) Emit(out, item);
      out << YAML::EndSeq;
      return;
    case nlohmann::json::value_t::string: {
      const std::string text = v.get<std::string>();
      if (NeedsQuotes(text)) out << YAML::SingleQuoted;
      out << text;
      return;
    }
    case nlohmann::json::value_t::null: out << YAML::Null; return;
    default: out << v.dump(); return;  // numbers and booleans in JSON's form (2.0 stays a float)
  }
}

}  // namespace

std::string ToYaml(const nlohmann::json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace kubecnn::plugin

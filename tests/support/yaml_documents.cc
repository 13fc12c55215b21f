// Splits a manifest file at its "---" lines and parses each document (see yaml_documents.h).
#include "tests/support/yaml_documents.h"

#include <fstream>
#include <stdexcept>

#include "operator/kube/yaml_json.h"

namespace kubecnn::testing {

std::vector<nlohmann::json> LoadYamlDocuments(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("reading YAML documents from " + path + ": cannot open it");
  std::vector<nlohmann::json> docs;
  std::string line, doc;
  auto flush = [&] {
    nlohmann::json parsed;
    try {
      parsed = kube::ParseYaml(doc);
    } catch (const std::exception& e) {
      throw std::runtime_error("reading YAML documents from " + path + ": " + e.what());
    }
    doc.clear();
    if (!parsed.is_null()) docs.push_back(std::move(parsed));
  };
  while (std::getline(in, line)) {
    if (line == "---") {
      flush();
    } else {
      doc += line + "\n";
    }
  }
  flush();
  return docs;
}

}  // namespace kubecnn::testing

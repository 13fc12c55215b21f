// RBAC rules and decisions for the fake API server (see apiserver_rbac.h).
#include "tests/support/apiserver_rbac.h"

#include "tests/support/apiserver_objects.h"
#include "tests/support/yaml_documents.h"

namespace kubecnn::testing {
namespace {

std::set<std::string> Strings(const nlohmann::json& list) {
  std::set<std::string> out;
  if (list.is_array()) {
    for (const nlohmann::json& item : list) out.insert(item.get<std::string>());
  }
  return out;
}

bool Matches(const std::set<std::string>& granted, const std::string& wanted) {
  return granted.count("*") || granted.count(wanted);
}

}  // namespace

std::vector<PolicyRule> LoadPolicyRules(const std::string& path) {
  std::vector<PolicyRule> rules;
  for (const nlohmann::json& object : LoadYamlDocuments(path)) {
    if (!object.is_object()) continue;
    const std::string kind = object.value("kind", "");
    if (kind != "ClusterRole" && kind != "Role") continue;
    for (const nlohmann::json& rule : object.value("rules", nlohmann::json::array())) {
      rules.push_back({Strings(rule.value("apiGroups", nlohmann::json())),
                       Strings(rule.value("resources", nlohmann::json())),
                       Strings(rule.value("verbs", nlohmann::json()))});
    }
  }
  return rules;
}

bool Allows(const std::vector<PolicyRule>& rules, const std::string& group, const std::string& resource,
            const std::string& verb) {
  for (const PolicyRule& rule : rules) {
    if (Matches(rule.api_groups, group) && Matches(rule.resources, resource) && Matches(rule.verbs, verb)) return true;
  }
  return false;
}

std::string RequestVerb(const std::string& method, bool named, bool watch) {
  if (method == "GET") return watch ? "watch" : named ? "get" : "list";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return named ? "delete" : "deletecollection";
  return method;
}

std::string ForbiddenMessage(const std::string& user, const std::string& verb, const std::string& group,
                             const std::string& resource, const std::string& ns) {
  std::string message = resource + " is forbidden: User \"" + user + "\" cannot " + verb + " resource \"" + resource +
                        "\" in API group \"" + group + "\"";
  message += ns.empty() ? " at the cluster scope" : " in the namespace \"" + ns + "\"";
  return message;
}

std::optional<std::string> OwnerReferenceRefusal(const std::vector<PolicyRule>& rules, const std::string& user,
                                                 const nlohmann::json& object, const std::string& ns) {
  const nlohmann::json meta = object.value("metadata", nlohmann::json::object());
  for (const nlohmann::json& ref : meta.value("ownerReferences", nlohmann::json::array())) {
    if (!ref.value("blockOwnerDeletion", false)) continue;
    const std::string api_version = ref.value("apiVersion", "");
    const size_t slash = api_version.find('/');
    const std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
    std::string plural;
    for (const ApiKind& kind : ApiKinds()) {
      if (kind.group == group && kind.kind == ref.value("kind", "")) plural = kind.plural;
    }
    if (plural.empty()) continue;  // the real plugin refuses unknown kinds too; the operator never sends one
    if (Allows(rules, group, plural + "/finalizers", "update")) continue;
    return "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: " +
           ForbiddenMessage(user, "update", group, plural + "/finalizers", ns) + ", <nil>";
  }
  return std::nullopt;
}

}  // namespace kubecnn::testing

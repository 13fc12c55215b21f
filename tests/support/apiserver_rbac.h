// RBAC for the fake API server: the rules of a ClusterRole or Role (as manifests/rbac holds them)
// and the two decisions a kube-apiserver makes from them that the operator meets: the RBAC
// authorizer's (may this user <verb> <resource> in <group>) and the OwnerReferencesPermissionEnforcement
// admission plugin's (setting blockOwnerDeletion needs update on the owner's finalizers).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kubecnn::testing {

struct PolicyRule {
  std::set<std::string> api_groups;
  std::set<std::string> resources;  // "pods", "trainingjobs/status", "*"
  std::set<std::string> verbs;      // "get", "list", "watch", "create", "update", "patch", "delete", "*"
};

// The rules of every ClusterRole and Role in a file of "---"-separated YAML documents. Throws
// std::runtime_error naming the file when it cannot be read or parsed.
std::vector<PolicyRule> LoadPolicyRules(const std::string& path);

bool Allows(const std::vector<PolicyRule>& rules, const std::string& group, const std::string& resource,
            const std::string& verb);

// The authorizer's verb for an HTTP method on a collection (`named` false) or an object.
std::string RequestVerb(const std::string& method, bool named, bool watch);

// The authorizer's refusal: `<resource> is forbidden: User "<user>" cannot <verb> resource ...`.
std::string ForbiddenMessage(const std::string& user, const std::string& verb, const std::string& group,
                             const std::string& resource, const std::string& ns);

// OwnerReferencesPermissionEnforcement: the refusal for `object` (being created or updated in `ns`)
// when one of its ownerReferences sets blockOwnerDeletion and `rules` do not grant update on that
// owner's finalizers; nullopt when admitted.
std::optional<std::string> OwnerReferenceRefusal(const std::vector<PolicyRule>& rules, const std::string& user,
                                                 const nlohmann::json& object, const std::string& ns);

}  // namespace kubecnn::testing

// The pure half of the fake kube-apiserver: which kinds it serves, metav1.Status errors,
// validation (422), spec/status separation, server-side-apply field sets and continue tokens.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/label_selector.h"

namespace kubecnn::testing {

struct ApiKind {
  std::string group;
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;
  bool status_subresource = false;
  bool tracks_generation = false;  // metadata.generation kept (custom resources do, these built-ins do not)
  bool builtin = true;             // built-in lists omit kind/apiVersion on their items
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
};

// Every kind the fake serves; index into it is the kind's id.
const std::vector<ApiKind>& ApiKinds();
// The kind for (group, version, plural), or nullptr.
const ApiKind* FindKind(const std::string& group, const std::string& version, const std::string& plural);

// An error the server answers with: HTTP `code` and a metav1.Status body.
class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, const std::string& message, nlohmann::json details = nullptr);
  int code() const { return code_; }
  const nlohmann::json& status() const { return status_; }

 private:
  int code_;
  nlohmann::json status_;
};

nlohmann::json StatusBody(int code, const std::string& reason, const std::string& message,
                          const nlohmann::json& details = nullptr);
ApiError NotFound(const ApiKind& kind, const std::string& name);
ApiError AlreadyExists(const ApiKind& kind, const std::string& name);
ApiError Conflict(const ApiKind& kind, const std::string& name, const std::string& why);
ApiError BadRequest(const std::string& message);
ApiError Gone(const std::string& message);

// 422 when the object breaks the rules kube-apiserver enforces for `kind` (name syntax, label
// syntax, pods need containers with name and image, leases a positive duration).
void Validate(const ApiKind& kind, const nlohmann::json& object);

// What counts as the spec for generation bumps: the object without metadata, kind, apiVersion
// and (for kinds with a status subresource) status.
nlohmann::json SpecPart(const ApiKind& kind, const nlohmann::json& object);

struct ObjectFilter {
  std::string ns;  // empty: every namespace
  LabelSelector labels;
  std::vector<FieldRequirement> fields;  // metadata.name / metadata.namespace only
};
// Throws 400 for selectors kube-apiserver would refuse (bad syntax, unsupported field label).
ObjectFilter MakeFilter(const std::string& ns, const std::string& label_selector, const std::string& field_selector);
bool Passes(const ObjectFilter& filter, const nlohmann::json& object);

// Server-side apply: the set of fields (JSON pointers to leaves; arrays are atomic) an applied
// configuration sets, and their rendering as managedFields' FieldsV1.
std::set<std::string> FieldSet(const nlohmann::json& config);
nlohmann::json FieldsV1(const std::set<std::string>& fields);

// Continue tokens as kube-apiserver makes them: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":key}.
std::string EncodeContinue(int64_t rv, const std::string& start_key);
// Throws 400 for a token that does not decode.
void DecodeContinue(const std::string& token, int64_t* rv, std::string* start_key);

std::string Base64Encode(const std::string& bytes);
std::string NowRfc3339();
std::string RandomUid();
std::string RandomSuffix(size_t n);

}  // namespace kubecnn::testing

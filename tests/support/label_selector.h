// Label and field selectors in the syntax of the Kubernetes API's labelSelector/fieldSelector, as
// the fake API server filters lists and watches by them (the operator only sends selectors).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::testing {

enum class SelectorOp { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };

struct LabelRequirement {
  std::string key;
  SelectorOp op = SelectorOp::kExists;
  std::vector<std::string> values;  // one for = and !=, a set for in/notin, none for (!)exists
};

// All requirements must hold (the comma is AND). An empty selector matches everything.
struct LabelSelector {
  std::vector<LabelRequirement> requirements;
};

// Parses "app=web,tier!=db,env in (prod,qa),!legacy". Throws std::invalid_argument naming the
// offending text and what was expected there.
LabelSelector ParseLabelSelector(std::string_view text);

// `labels` is an object of string values (metadata.labels) or null. As in Kubernetes, != and notin
// match an object without the label; = and in need it.
bool Matches(const LabelSelector& selector, const nlohmann::json& labels);

// Canonical text, parseable by ParseLabelSelector.
std::string ToString(const LabelSelector& selector);

// A field selector: "metadata.name=foo,metadata.namespace!=kube-system" (=, == and != only).
struct FieldRequirement {
  std::string field;
  bool equals = true;
  std::string value;
};
std::vector<FieldRequirement> ParseFieldSelector(std::string_view text);

// Validity of label keys and values by the Kubernetes rules (qualified name, <= 63 characters).
bool IsValidLabelKey(std::string_view key);
bool IsValidLabelValue(std::string_view value);

}  // namespace kubecnn::testing

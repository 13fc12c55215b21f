// Merge patches by RFC 7386 section 2 (apply) and its inverse (create).
#include "operator/kube/merge_patch.h"

namespace kubecnn::kube {

nlohmann::json ApplyMergePatch(const nlohmann::json& target, const nlohmann::json& patch) {
  if (!patch.is_object()) return patch;
  nlohmann::json result = target.is_object() ? target : nlohmann::json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) {
      result.erase(it.key());
    } else {
      const nlohmann::json existing = result.contains(it.key()) ? result[it.key()] : nlohmann::json();
      result[it.key()] = ApplyMergePatch(existing, it.value());
    }
  }
  return result;
}

nlohmann::json CreateMergePatch(const nlohmann::json& from, const nlohmann::json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  nlohmann::json patch = nlohmann::json::object();
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (!to.contains(it.key())) patch[it.key()] = nullptr;
  }
  for (auto it = to.begin(); it != to.end(); ++it) {
    if (it.value().is_null()) continue;
    if (!from.contains(it.key())) {
      patch[it.key()] = it.value();
    } else if (from[it.key()] != it.value()) {
      if (from[it.key()].is_object() && it.value().is_object()) {
        patch[it.key()] = CreateMergePatch(from[it.key()], it.value());
      } else {
        patch[it.key()] = it.value();
      }
    }
  }
  return patch;
}

}  // namespace kubecnn::kube

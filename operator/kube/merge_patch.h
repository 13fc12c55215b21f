// JSON merge patch (RFC 7386): applying one, and computing the patch between two documents.
#pragma once

#include <nlohmann/json.hpp>

namespace kubecnn::kube {

// RFC 7386 MergePatch(target, patch): objects merge recursively, null deletes a member, anything
// else (arrays included) replaces.
nlohmann::json ApplyMergePatch(const nlohmann::json& target, const nlohmann::json& patch);

// The smallest merge patch p with ApplyMergePatch(from, p) == to. Members removed in `to` become
// null; arrays that differ are sent whole. Where `to` holds a null member no merge patch can
// express it, so it is left out (the caller deletes instead).
nlohmann::json CreateMergePatch(const nlohmann::json& from, const nlohmann::json& to);

}  // namespace kubecnn::kube

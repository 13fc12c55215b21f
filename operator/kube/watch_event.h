// One event of a Kubernetes watch stream ({"type": ..., "object": ...} per line).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kubecnn::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  nlohmann::json object;  // the object; for kError a metav1.Status; for kBookmark only metadata.resourceVersion
};

// Throws std::invalid_argument quoting the start of a line that is not a watch event.
WatchEvent ParseWatchEvent(std::string_view line);
const char* ToString(WatchEventType type);

// metadata.resourceVersion of an object, "" when absent.
std::string ResourceVersionOf(const nlohmann::json& object);

}  // namespace kubecnn::kube

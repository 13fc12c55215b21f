// ParseWatchEvent.
#include "operator/kube/watch_event.h"

#include <stdexcept>

namespace kubecnn::kube {

WatchEvent ParseWatchEvent(std::string_view line) {
  const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("watch stream: " + why + " in line \"" + std::string(line.substr(0, 200)) +
                                (line.size() > 200 ? "...\"" : "\"") +
                                " (a proxy between the operator and the API server may be rewriting the stream)");
  };
  if (!parsed.is_object()) fail("not a JSON object");
  const std::string type = parsed.value("type", "");
  if (!parsed.contains("object") || !parsed["object"].is_object()) fail("no object");
  WatchEvent event;
  event.object = parsed["object"];
  if (type == "ADDED") {
    event.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    event.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    event.type = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    event.type = WatchEventType::kBookmark;
  } else if (type == "ERROR") {
    event.type = WatchEventType::kError;
  } else {
    fail("unknown event type \"" + type + "\"");
  }
  return event;
}

const char* ToString(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "?";
}

std::string ResourceVersionOf(const nlohmann::json& object) {
  if (!object.is_object() || !object.contains("metadata")) return "";
  const nlohmann::json& meta = object["metadata"];
  return meta.is_object() && meta.contains("resourceVersion") && meta["resourceVersion"].is_string()
             ? meta["resourceVersion"].get<std::string>()
             : "";
}

}  // namespace kubecnn::kube

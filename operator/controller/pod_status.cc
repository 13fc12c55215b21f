// Pod status inspection.
#include "operator/controller/pod_status.h"

#include <initializer_list>

#include "operator/controller/names.h"
#include "operator/kube/object_store.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;

const json& Field(const json& object, const char* key) {
  static const json null;
  return object.is_object() && object.contains(key) ? object[key] : null;
}

std::string Text(const json& object, const char* key, const std::string& fallback = "") {
  return object.is_object() && object.contains(key) && object[key].is_string() ? object[key].get<std::string>()
                                                                               : fallback;
}

const json* PodCondition(const json& pod, const std::string& type) {
  const json& conditions = Field(Field(pod, "status"), "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const json& c : conditions) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

const json* Terminated(const json& pod, const std::string& container) {
  const json& statuses = Field(Field(pod, "status"), "containerStatuses");
  if (!statuses.is_array()) return nullptr;
  for (const json& s : statuses) {
    if (!s.is_object() || (!container.empty() && s.value("name", "") != container)) continue;
    const json& terminated = Field(Field(s, "state"), "terminated");
    if (terminated.is_object()) return &terminated;
  }
  return nullptr;
}

// A termination message as one line: a file's trailing newline dropped, inner newlines as "; ".
std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\r') continue;
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
      continue;
    }
    out += c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

// Moves `keys` of `from` that are present into a new object.
json Kept(json& from, std::initializer_list<const char*> keys) {
  json kept = json::object();
  if (!from.is_object()) return kept;
  for (const char* key : keys) {
    auto it = from.find(key);
    if (it != from.end()) kept[key] = std::move(*it);
  }
  return kept;
}

// A container's status without what a kubelet adds for people (image, image ID, container ID,
// start and finish times, the previous state): its name, readiness, restarts, and the state's
// reason, message and exit code.
json KeptContainerStatus(json& status) {
  json kept = Kept(status, {"name", "ready", "restartCount"});
  auto state = status.find("state");
  if (state != status.end() && state->is_object()) {
    json& out = kept["state"] = json::object();
    for (auto& [which, detail] : state->items()) out[which] = Kept(detail, {"exitCode", "reason", "message"});
  }
  return kept;
}

// The pod status fields pod_status.cc and the controller read: phase, reason, message, podIP,
// each condition's type, status, reason and message, and each container's KeptContainerStatus.
json KeptStatus(json& status) {
  json kept = Kept(status, {"phase", "reason", "message", "podIP"});
  auto conditions = status.find("conditions");
  if (conditions != status.end() && conditions->is_array()) {
    json& out = kept["conditions"] = json::array();
    for (json& c : *conditions) out.push_back(Kept(c, {"type", "status", "reason", "message"}));
  }
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    auto statuses = status.find(list);
    if (statuses == status.end() || !statuses->is_array()) continue;
    json& out = kept[list] = json::array();
    for (json& c : *statuses) out.push_back(KeptContainerStatus(c));
  }
  return kept;
}

}  // namespace

std::string PodName(const json& pod) { return Text(Field(pod, "metadata"), "name", ""); }
std::string PodPhase(const json& pod) { return Text(Field(pod, "status"), "phase", "Pending"); }

bool IsScheduled(const json& pod) {
  if (!Text(Field(pod, "spec"), "nodeName", "").empty()) return true;
  const json* c = PodCondition(pod, "PodScheduled");
  return c && c->value("status", "") == "True";
}

bool IsReady(const json& pod) {
  const json* c = PodCondition(pod, "Ready");
  return PodPhase(pod) == "Running" && c && c->value("status", "") == "True" &&
         !Text(Field(pod, "status"), "podIP", "").empty() && !IsTerminating(pod);
}

bool IsTerminating(const json& pod) { return Field(pod, "metadata").contains("deletionTimestamp"); }
bool HasSucceeded(const json& pod) { return PodPhase(pod) == "Succeeded"; }

std::optional<PodFailure> FailureOf(const json& pod) {
  const std::string phase = PodPhase(pod);
  const json& status = Field(pod, "status");
  const std::string name = PodName(pod);
  if (phase == "Failed") {
    PodFailure f;
    const json* t = Terminated(pod, "");
    if (t && t->contains("exitCode") && (*t)["exitCode"].is_number_integer()) f.exit_code = (*t)["exitCode"].get<int>();
    std::string detail = Text(status, "reason");
    if (detail.empty() && t) detail = t->value("reason", "");
    std::string message = Text(status, "message");
    if (message.empty() && t) message = t->value("message", "");
    message = OneLine(message);
    f.why = name + " failed";
    if (f.exit_code) f.why += " with exit code " + std::to_string(*f.exit_code);
    if (!detail.empty() || !message.empty()) {
      f.why += " (" + detail + (detail.empty() || message.empty() ? "" : ": ") + message.substr(0, 200) + ")";
    }
    return f;
  }
  if (phase == "Unknown" || Text(status, "reason") == "NodeLost") {
    return PodFailure{name + " is unreachable (its node was lost)", std::nullopt};
  }
  if (IsTerminating(pod) && phase != "Succeeded") {
    return PodFailure{name + " is being deleted (evicted or drained)", std::nullopt};
  }
  return std::nullopt;
}

std::string UnschedulableMessage(const json& pod) {
  const json* c = PodCondition(pod, "PodScheduled");
  if (!c || c->value("status", "") != "False") return "";
  return c->value("message", c->value("reason", ""));
}

std::string TerminationMessage(const json& pod, const std::string& container) {
  const json* t = Terminated(pod, container);
  return t ? t->value("message", "") : "";
}

void KeepWhatTheControllerReads(json& pod) {
  if (!pod.is_object()) return;
  json kept = Kept(pod, {"apiVersion", "kind", "metadata"});
  kube::DropManagedFields(kept);
  auto status = pod.find("status");
  if (status != pod.end() && status->is_object()) kept["status"] = KeptStatus(*status);
  const std::string node = Text(Field(pod, "spec"), "nodeName");
  if (!node.empty()) kept["spec"] = {{"nodeName", node}};
  pod = std::move(kept);
}

int64_t AttemptOf(const json& pod) {
  const json& labels = Field(Field(pod, "metadata"), "labels");
  if (!labels.is_object() || !labels.contains(kLabelAttempt) || !labels[kLabelAttempt].is_string()) return -1;
  try {
    return std::stoll(labels[kLabelAttempt].get<std::string>());
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace kubecnn::controller

// Condition bookkeeping (see conditions.h).
#include "operator/controller/conditions.h"

namespace kubecnn::controller {

const api::Condition* FindCondition(const api::TrainingJobStatus& status, const std::string& type) {
  for (const api::Condition& c : status.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

bool IsTrue(const api::TrainingJobStatus& status, const std::string& type) {
  const api::Condition* c = FindCondition(status, type);
  return c && c->status == "True";
}

bool SetCondition(api::TrainingJobStatus& status, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, const std::string& now) {
  const std::string text = value ? "True" : "False";
  for (api::Condition& c : status.conditions) {
    if (c.type != type) continue;
    const bool transition = c.status != text;
    const bool changed = transition || c.reason != reason;
    if (transition) c.last_transition_time = now;
    if (changed || c.message != message) c.last_update_time = now;
    c.status = text;
    c.reason = reason;
    c.message = message;
    return changed;
  }
  status.conditions.push_back({type, text, reason, message, now, now});
  return true;
}

bool ClearCondition(api::TrainingJobStatus& status, const std::string& type, const std::string& reason,
                    const std::string& message, const std::string& now) {
  if (!IsTrue(status, type)) return false;
  return SetCondition(status, type, false, reason, message, now);
}

}  // namespace kubecnn::controller

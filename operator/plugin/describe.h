// `kubectl kubecnn describe`: a TrainingJob as a person reads it — what runs (the launcher's command
// line), where its data and checkpoints are, its phase and progress, conditions, restart history,
// the evaluation result and the Events. Pure. Secret material is never printed: only the names of
// the Secrets the job refers to.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/kube/clock.h"

namespace kubecnn::plugin {

// `events` are core/v1 Events about the job (any order).
std::string DescribeJob(const nlohmann::json& job, const std::vector<nlohmann::json>& events, kube::WallTime now);

}  // namespace kubecnn::plugin

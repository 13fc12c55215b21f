// Test helpers for the controller: a valid TrainingJob, and pods in the states a kubelet reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/training_job.h"

namespace kubecnn::controller::testing {

// "r50" in namespace "ml": 4 workers x 8 slots, resnet50 with a data volume.
api::TrainingJob MakeJob(int64_t workers = 4, int64_t slots = 8);

// Pod status as a kubelet would write it.
nlohmann::json Scheduled(nlohmann::json pod, const std::string& node = "node-a");
nlohmann::json Unschedulable(nlohmann::json pod, const std::string& message);
nlohmann::json Ready(nlohmann::json pod, const std::string& ip = "10.0.0.7");
nlohmann::json Running(nlohmann::json pod);  // Running but not Ready (launchers)
nlohmann::json Succeeded(nlohmann::json pod, const std::string& termination_message = "");
nlohmann::json Failed(nlohmann::json pod, int exit_code, const std::string& reason = "Error");
nlohmann::json Evicted(nlohmann::json pod);

}  // namespace kubecnn::controller::testing

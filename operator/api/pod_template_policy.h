// What spec.podTemplate may set. The operator creates the job's pods with its own rights, so a
// template is an allow-list, not a pass-through: whoever may create a TrainingJob gets pods in its
// namespace that schedule where they like and carry what they need (env, volumes, sidecars), but
// never privileged or host-namespace containers, host paths, added capabilities or, unless the
// chart opts in, another ServiceAccount.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/api/training_job.h"

namespace kubecnn::api {

struct PodTemplatePolicy {
  // spec.podTemplate.spec.serviceAccountName: off unless the chart sets
  // operator.podTemplate.allowServiceAccount (the operator's --allow_pod_template_service_account).
  bool allow_service_account = false;
};

// The pod-spec fields a template may set, in the order the README lists them.
const std::vector<std::string>& AllowedPodTemplateFields();

// One "<field>: <what is wrong and what to do>" per refusal, fields under spec.podTemplate.spec.
struct TemplateRefusal {
  std::string field;
  std::string message;
};
std::vector<TemplateRefusal> CheckPodTemplate(const nlohmann::json& spec, const PodTemplatePolicy& policy);

}  // namespace kubecnn::api

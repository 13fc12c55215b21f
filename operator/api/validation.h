// Validation of a (defaulted) TrainingJob: every rule the CRD schema cannot express, plus the
// schema's own rules again (the operator must not trust that the CRD installed is ours), each
// error naming the field, what is wrong and what to do.
#pragma once

#include <string>
#include <vector>

#include "operator/api/pod_template_policy.h"
#include "operator/api/training_job.h"

namespace kubecnn::api {

struct FieldError {
  std::string field;    // "spec.trainer.batchSize"
  std::string message;  // "must be at least 1, got 0"
  bool operator==(const FieldError&) const = default;
};

// The longest job name: <name>-worker-<index> must stay a 63-character DNS label (the pod's hostname).
inline constexpr size_t kMaxJobNameLength = 48;

// Flags the operator sets itself, which spec.trainer.extraArgs may not repeat.
const std::vector<std::string>& ReservedTrainerFlags();

// `job.spec` must have been through WithDefaults. Empty when valid. spec.podTemplate is checked
// against `policy` (see pod_template_policy.h).
std::vector<FieldError> Validate(const TrainingJob& job, const PodTemplatePolicy& policy = {});

// "spec.workers: must be at least 1, got 0; spec.image: required (...)".
std::string Describe(const std::vector<FieldError>& errors);

}  // namespace kubecnn::api

// Builders of the gang's pods: workers (sshd as a non-root user, stable hostnames under the headless
// Service, resources, data and checkpoint volumes, metrics ports) and the launcher (mpirun over the
// hostfile), each with the user's podTemplate merged in.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/defaults.h"

namespace kubecnn::controller {

// Worker `index` of gang attempt `attempt` (see status.restarts / admissionRetries).
nlohmann::json WorkerPod(const api::DefaultedJob& job, int64_t index, int64_t attempt);

// The launcher of `stage` (kStageTrain: training, kStageEvaluate: --eval), attempt `attempt`.
nlohmann::json LauncherPod(const api::DefaultedJob& job, const std::string& stage, int64_t attempt);

// Merges the user's podTemplate into a pod we built: labels and annotations added (ours win),
// PodSpec fields we do not set taken from the template, the template container named like ours
// ("worker"/"launcher") contributing env, envFrom, volumeMounts and securityContext, other template
// containers added as sidecars, template volumes added to ours.
nlohmann::json MergePodTemplate(nlohmann::json pod, const api::PodTemplateSpec& pod_template);

}  // namespace kubecnn::controller

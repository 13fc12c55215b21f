// Defaulting of a TrainingJob's spec: every optional field the controller reads gets its value
// here, once, so the rest of the operator never guesses.
#pragma once

#include <cstdint>

#include "operator/api/training_job.h"

namespace kubecnn::api {

inline constexpr const char* kDataMountPath = "/data";
inline constexpr const char* kCheckpointMountPath = "/checkpoints";
inline constexpr int64_t kDefaultWorkers = 1;
inline constexpr int64_t kDefaultSlotsPerWorker = 1;
inline constexpr int64_t kDefaultBackoffLimit = 3;
inline constexpr int64_t kDefaultScheduleTimeoutSeconds = 300;
inline constexpr const char* kVolcanoSchedulerName = "volcano";
inline constexpr const char* kSchedulerPluginsSchedulerName = "scheduler-plugins-scheduler";

// Returns `spec` with defaults filled in: mode Train, imagePullPolicy IfNotPresent, 1 worker of 1
// slot, trainer.logDir /checkpoints, trainer.dataDir /data when a data volume is given, precision
// fp32, backoffLimit 3, cleanPodPolicy Running (workers run sshd until deleted, so keeping them would
// hold their GPUs), suspend false, gang None, the gang scheduler's name, scheduleTimeoutSeconds 300,
// evaluation off, and an emptyDir for checkpoints when no volume is given.
TrainingJobSpec WithDefaults(TrainingJobSpec spec);

}  // namespace kubecnn::api

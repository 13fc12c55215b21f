// The TrainingJob API's enumerations (spec.mode, spec.scheduling.gang, spec.runPolicy.cleanPodPolicy,
// status.phase) and their names as the API spells them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubecnn::api {

enum class Mode { kTrain, kEvaluate };
enum class Gang { kNone, kVolcano, kSchedulerPlugins };
enum class CleanPodPolicy { kAll, kRunning, kNone };
enum class Phase { kPending, kScheduling, kRunning, kRestarting, kSucceeded, kFailed, kSuspended };

// Every phase, in the order above (the operator exports a gauge for each, zero included).
inline constexpr Phase kAllPhases[] = {Phase::kPending,   Phase::kScheduling, Phase::kRunning,  Phase::kRestarting,
                                       Phase::kSucceeded, Phase::kFailed,     Phase::kSuspended};

const char* Name(Mode mode);
const char* Name(Gang gang);
const char* Name(CleanPodPolicy policy);
const char* Name(Phase phase);

// The value of `name`, or nullopt when it names none (validation reports that with the choices).
std::optional<Mode> ParseMode(std::string_view name);
std::optional<Gang> ParseGang(std::string_view name);
std::optional<CleanPodPolicy> ParseCleanPodPolicy(std::string_view name);

}  // namespace kubecnn::api

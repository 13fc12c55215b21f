// Names of the API's enumerations.
#include "operator/api/enums.h"

#include <array>
#include <utility>

namespace kubecnn::api {
namespace {

template <class E, size_t N>
std::optional<E> Parse(const std::array<std::pair<E, const char*>, N>& table, std::string_view name) {
  for (const auto& [value, text] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <class E, size_t N>
const char* NameIn(const std::array<std::pair<E, const char*>, N>& table, E value) {
  for (const auto& [v, text] : table) {
    if (v == value) return text;
  }
  return "";  // unreachable: every enumerator is in its table
}

constexpr std::array<std::pair<Mode, const char*>, 2> kModes = {
    {{Mode::kTrain, "Train"}, {Mode::kEvaluate, "Evaluate"}}};
constexpr std::array<std::pair<Gang, const char*>, 3> kGangs = {
    {{Gang::kNone, "None"}, {Gang::kVolcano, "Volcano"}, {Gang::kSchedulerPlugins, "SchedulerPlugins"}}};
constexpr std::array<std::pair<CleanPodPolicy, const char*>, 3> kPolicies = {
    {{CleanPodPolicy::kAll, "All"}, {CleanPodPolicy::kRunning, "Running"}, {CleanPodPolicy::kNone, "None"}}};
constexpr std::array<std::pair<Phase, const char*>, 7> kPhases = {{{Phase::kPending, "Pending"},
                                                                   {Phase::kScheduling, "Scheduling"},
                                                                   {Phase::kRunning, "Running"},
                                                                   {Phase::kRestarting, "Restarting"},
                                                                   {Phase::kSucceeded, "Succeeded"},
                                                                   {Phase::kFailed, "Failed"},
                                                                   {Phase::kSuspended, "Suspended"}}};

}  // namespace

const char* Name(Mode mode) { return NameIn(kModes, mode); }
const char* Name(Gang gang) { return NameIn(kGangs, gang); }
const char* Name(CleanPodPolicy policy) { return NameIn(kPolicies, policy); }
const char* Name(Phase phase) { return NameIn(kPhases, phase); }

std::optional<Mode> ParseMode(std::string_view name) { return Parse(kModes, name); }
std::optional<Gang> ParseGang(std::string_view name) { return Parse(kGangs, name); }
std::optional<CleanPodPolicy> ParseCleanPodPolicy(std::string_view name) { return Parse(kPolicies, name); }

}  // namespace kubecnn::api

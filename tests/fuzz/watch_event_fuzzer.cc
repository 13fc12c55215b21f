// libFuzzer target: arbitrary bytes as one line of a watch stream, as the operator's informers
// take them from the API server: the event parsed, the object trimmed for the cache (managedFields
// dropped; of a pod, only what the controller reads kept), then every reader of a pod the planner
// uses. A malformed line or object must be refused with an exception, never crash, hang or leak;
// the trim must not change what a reader answers.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "operator/controller/pod_status.h"
#include "operator/kube/object_store.h"
#include "operator/kube/watch_event.h"

namespace {

// What the planner reads of a pod, as one string to compare before and after the trim.
std::string Readings(const nlohmann::json& pod) {
  namespace c = kubecnn::controller;
  std::string out = c::PodPhase(pod) + "|" + std::to_string(c::IsScheduled(pod)) + std::to_string(c::IsReady(pod)) +
                    std::to_string(c::IsTerminating(pod)) + std::to_string(c::HasSucceeded(pod)) + "|" +
                    c::UnschedulableMessage(pod) + "|" + std::to_string(c::AttemptOf(pod)) + "|" + c::PodName(pod) +
                    "|" + c::TerminationMessage(pod, "launcher") + "|" + c::TerminationMessage(pod, "worker");
  if (const auto failure = c::FailureOf(pod)) {
    out += "|" + failure->why + "|" + std::to_string(failure->exit_code.value_or(-1));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  kubecnn::kube::WatchEvent event;
  try {
    event = kubecnn::kube::ParseWatchEvent(line);
  } catch (const std::exception&) {  // refused, with a message: fine
    return 0;
  }
  kubecnn::kube::ResourceVersionOf(event.object);
  nlohmann::json pod = event.object;
  try {
    kubecnn::kube::DropManagedFields(pod);
    const std::string before = Readings(pod);
    kubecnn::controller::KeepWhatTheControllerReads(pod);
    if (Readings(pod) != before) __builtin_trap();
  } catch (const std::exception&) {  // an object no API server sends (a field of the wrong type): refused
  }
  return 0;
}

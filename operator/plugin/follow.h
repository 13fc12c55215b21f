// Following a TrainingJob until it ends, drawing its progress line: in place on a terminal, one
// line per change into a pipe. `watch` and `eval` both end this way.
#pragma once

#include <string>

#include "operator/api/training_job.h"
#include "operator/kube/client.h"
#include "operator/plugin/session.h"

namespace kubecnn::plugin {

// What a terminal shows for `line`: the previous one cleared and `line` cut to the width.
std::string Redraw(const std::string& line, int width);

// Gets the job (NotFound is the caller's error), then watches it until Succeeded or Failed, and
// prints the outcome line. Throws std::runtime_error when the job is deleted meanwhile.
api::TrainingJob FollowJob(kube::Client& client, Terminal& terminal, const std::string& ns, const std::string& name);

// 0 for Succeeded, 1 for Failed: watch's and eval's exit code.
int ExitCodeOf(const api::TrainingJob& job);

}  // namespace kubecnn::plugin

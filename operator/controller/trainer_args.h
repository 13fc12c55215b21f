// The launcher's command line, built as a list from typed spec fields: mpirun over the hostfile,
// then kubecnn-trainer with one "--flag=value" element per field. User input only ever becomes
// whole argv elements, never text of a shell script.
#pragma once

#include <string>
#include <vector>

#include "operator/api/defaults.h"

namespace kubecnn::controller {

// kubecnn-trainer's flags for `stage` (kStageTrain or kStageEvaluate) of a defaulted spec.
std::vector<std::string> TrainerArgs(const api::DefaultedSpec& spec, const std::string& stage);

// ["mpirun", "--hostfile", "/etc/kubecnn/hostfile", "-np", "<workers*slots>", <mpirun options>,
//  "-x", NAME for each S3ForwardedEnv name, "kubecnn-trainer", TrainerArgs...].
std::vector<std::string> MpirunArgs(const api::DefaultedSpec& spec, const std::string& stage);

// The launcher container's command: a fixed /bin/sh script that waits until every hostfile entry
// resolves (headless-Service DNS can trail pod readiness), runs its arguments ("$@", i.e.
// MpirunArgs, plus `-x NAME` after mpirun for each name in $KUBECNN_FORWARD_IF_SET that is set)
// and, for evaluation, copies the newest $KUBECNN_LOG_DIR/eval-*.json to the termination-message
// file so the result reaches the operator in the pod status; with an s3:// $KUBECNN_LOG_DIR it
// copies the JSON of the output line "kubecnn-eval-result: {...}" that rank 0 prints instead.
std::vector<std::string> LauncherCommand();
// The script itself (exposed for tests that run it with /bin/sh).
const std::string& LauncherScript();

}  // namespace kubecnn::controller

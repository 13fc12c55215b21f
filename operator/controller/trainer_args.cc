// argv of the launcher: mpirun and kubecnn-trainer flags from typed fields.
#include "operator/controller/trainer_args.h"

#include <nlohmann/json.hpp>

#include "operator/controller/names.h"
#include "operator/controller/s3_env.h"

namespace kubecnn::controller {
namespace {

std::string Number(double v) {
  nlohmann::json j = v;  // shortest round-trip form: 0.1 stays "0.1", 2 becomes "2.0"
  return j.dump();
}

}  // namespace

std::vector<std::string> TrainerArgs(const api::DefaultedSpec& spec, const std::string& stage) {
  const api::TrainerSpec& t = spec.trainer;
  const bool eval = stage == kStageEvaluate;
  std::vector<std::string> args;
  const auto flag = [&](const char* name, const std::string& value) {
    args.push_back("--" + std::string(name) + "=" + value);
  };
  flag("model", t.model);
  const std::optional<std::string> data_dir = eval && spec.evaluation.data_dir ? spec.evaluation.data_dir : t.data_dir;
  if (data_dir && !data_dir->empty()) flag("data_dir", *data_dir);
  flag("log_dir", spec.log_dir);
  std::optional<int64_t> batch = eval && spec.evaluation.batch_size ? spec.evaluation.batch_size : t.batch_size;
  if (batch) flag("batch_size", std::to_string(*batch));
  if (t.num_classes) flag("num_classes", std::to_string(*t.num_classes));
  if (t.precision == "fp16") args.push_back("--fp16");
  if (t.precision == "bf16") args.push_back("--bf16");
  if (t.num_data_threads) flag("num_data_threads", std::to_string(*t.num_data_threads));
  flag("metrics_port", std::to_string(kMetricsBasePort));
  if (eval) {
    args.push_back("--eval");
    if (spec.evaluation.checkpoint) flag("checkpoint", *spec.evaluation.checkpoint);
  } else {
    if (t.num_epochs) flag("num_epochs", std::to_string(*t.num_epochs));
    if (t.num_batches) flag("num_batches", std::to_string(*t.num_batches));
    if (t.learning_rate) flag("learning_rate", Number(*t.learning_rate));
    if (t.lr_schedule) flag("lr_schedule", *t.lr_schedule);
    if (t.optimizer) flag("optimizer", *t.optimizer);
    if (t.momentum) flag("momentum", Number(*t.momentum));
    if (t.nesterov) args.push_back(*t.nesterov ? "--nesterov" : "--nonesterov");
    if (t.weight_decay) flag("weight_decay", Number(*t.weight_decay));
    if (t.label_smoothing) flag("label_smoothing", Number(*t.label_smoothing));
    if (t.larc && t.larc->mode) flag("larc_mode", *t.larc->mode);
    if (t.larc && t.larc->eta) flag("larc_eta", Number(*t.larc->eta));
    if (t.loss_scale) flag("loss_scale", *t.loss_scale);
    if (t.display_every) flag("display_every", std::to_string(*t.display_every));
    if (t.save_interval_seconds) flag("save_interval", std::to_string(*t.save_interval_seconds));
  }
  for (const std::string& extra : t.extra_args) args.push_back(extra);
  return args;
}

std::vector<std::string> MpirunArgs(const api::DefaultedSpec& spec, const std::string& stage) {
  const int64_t ranks = spec.workers * spec.slots_per_worker;
  std::vector<std::string> args = {"mpirun", "--hostfile", kHostfilePath, "-np", std::to_string(ranks),
                                   // one rank per slot, ranks of a worker adjacent (local rank = GPU)
                                   "--map-by", "slot", "--bind-to", "none",
                                   // a rank that exits non-zero ends the job at once (no hang)
                                   "--mca", "orte_abort_on_non_zero_status", "1"};
  // Ranks start under sshd without the launcher's environment: forward the object store's (names
  // only; mpirun reads the values from its own environment).
  for (const std::string& name : S3ForwardedEnv(spec)) {
    args.push_back("-x");
    args.push_back(name);
  }
  args.push_back("kubecnn-trainer");
  for (std::string& a : TrainerArgs(spec, stage)) args.push_back(std::move(a));
  return args;
}

const std::string& LauncherScript() {
  static const std::string script = R"SH(set -u
# mpirun reaches each worker over ssh and checks its host key (StrictHostKeyChecking=yes): every
# worker's sshd serves the job's own key (HostKey), so the gang's known_hosts is that public key for
# each host of the hostfile, on sshd's port.
known_hosts="${KUBECNN_KNOWN_HOSTS:-/tmp/kubecnn-known_hosts}"
ssh_dir="${KUBECNN_SSH_DIR:-/etc/kubecnn/ssh}"
host_key=$(cat "$ssh_dir/ssh-publickey" 2>/dev/null) || host_key=""
if [ -z "$host_key" ]; then
  echo "kubecnn-launcher: no $ssh_dir/ssh-publickey to check the workers' host keys with; the job's SSH Secret lacks it (delete the Secret: the operator makes a new one)" >&2
  exit 3
fi
: >"$known_hosts"
while read -r host _; do
  [ -n "$host" ] && printf '[%s]:%s %s\n' "$host" "${KUBECNN_SSH_PORT:-2222}" "$host_key" >>"$known_hosts"
done < "${KUBECNN_HOSTFILE:-/etc/kubecnn/hostfile}"
wait_s="${KUBECNN_DNS_WAIT_SECONDS:-120}"
deadline=$(( $(date +%s) + wait_s ))
while read -r host _; do
  [ -n "$host" ] || continue
  until getent hosts "$host" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "kubecnn-launcher: $host does not resolve after $wait_s s; check the job's headless Service" >&2
      exit 3
    fi
    sleep 1
  done
done < "${KUBECNN_HOSTFILE:-/etc/kubecnn/hostfile}"
# mpirun's output goes to the log as always and to a file, whose first error line (a trainer's, or
# mpirun's account of a rank that died) becomes the termination message when the run fails, so
# the job's condition and Event say what went wrong.
out="${TMPDIR:-/tmp}/kubecnn-launcher.out"
status="${TMPDIR:-/tmp}/kubecnn-launcher.status"
# An evaluation reports the eval-<step>.json this run writes, not an older one: "inode ctime path"
# lines (newest first) not there before are this run's, whether the file was renamed into place
# (a new inode) or rewritten (a new ctime, to the nanosecond).
eval_files() {
  ls -t "$KUBECNN_LOG_DIR"/eval-*.json 2>/dev/null | while IFS= read -r path; do
    printf '%s %s\n' "$(stat -c '%i %z' "$path")" "$path"
  done
}
before=$(eval_files)
# Each name in $KUBECNN_FORWARD_IF_SET (the object store's optional credentials) that is set here
# becomes `-x NAME` right after mpirun ($1); mpirun warns about `-x` of a variable it lacks.
if [ -n "${KUBECNN_FORWARD_IF_SET:-}" ]; then
  mpirun_path=$1
  shift
  set -f
  for name in $KUBECNN_FORWARD_IF_SET; do
    if printenv "$name" >/dev/null 2>&1; then set -- -x "$name" "$@"; fi
  done
  set +f
  set -- "$mpirun_path" "$@"
fi
rm -f "$status"
{ "$@" 2>&1; echo "$?" >"$status"; } | tee "$out" &
pipeline=$!
# Kubernetes stops a pod with SIGTERM to its PID 1, which this shell is, and PID 1 ignores signals
# it does not handle: pass it on to mpirun (which stops the ranks) rather than sit out the grace
# period until SIGKILL.
trap 'trap "" TERM INT; kill -TERM 0 2>/dev/null' TERM INT
while kill -0 "$pipeline" 2>/dev/null; do wait "$pipeline"; done
rc=$(cat "$status" 2>/dev/null || echo 1)
if [ "$rc" -ne 0 ]; then
  grep -m 1 -E '^(kubecnn-trainer|mpirun noticed|ORTE has lost|ORTE was unable)' "$out" \
    >"${KUBECNN_TERMINATION_LOG:-/dev/termination-log}" 2>/dev/null
  exit "$rc"
fi
if [ "${KUBECNN_EVAL_RESULT:-0}" = 1 ]; then
  case "${KUBECNN_LOG_DIR:-}" in s3://*)
    # No folder to look in: rank 0 prints the result as one line of its output, which mpirun passes on.
    result=$(grep -m 1 '^kubecnn-eval-result: ' "$out")
    if [ -z "$result" ]; then
      echo "kubecnn-launcher: evaluation finished but printed no kubecnn-eval-result line (logDir $KUBECNN_LOG_DIR)" >&2
      exit 1
    fi
    printf '%s\n' "${result#kubecnn-eval-result: }" >"${KUBECNN_TERMINATION_LOG:-/dev/termination-log}"
    exit 0 ;;
  esac
  result=$(eval_files | while IFS= read -r line; do
    if ! printf '%s\n' "$before" | grep -Fxq "$line"; then
      printf '%s\n' "${line#* * * * }"  # after inode and the three fields of the ctime
      break
    fi
  done)
  if [ -n "$result" ]; then
    cp "$result" "${KUBECNN_TERMINATION_LOG:-/dev/termination-log}"
  else
    echo "kubecnn-launcher: evaluation finished but wrote no new eval-*.json in $KUBECNN_LOG_DIR" >&2
    exit 1
  fi
fi
exit "$rc"
)SH";
  return script;
}

std::vector<std::string> LauncherCommand() { return {"/bin/sh", "-c", LauncherScript(), "kubecnn-launcher"}; }

}  // namespace kubecnn::controller

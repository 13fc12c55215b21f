#!/usr/bin/env bash
# Tests the images as built, here (root, buildah): builds them unless --no-build, mounts their root
# filesystems and runs the end-to-end binary against them:
#   - TrainerImage.*: sshd -t with the operator's sshd_config and keys as uid 1000, the tools of the
#     image contract (mpirun, ssh, getent, ...), kubecnn-trainer bench on synthetic data;
#   - OperatorImage.*: the operator as uid 65532 under a read-only root serves /healthz, /readyz and
#     /metrics against the API-server fixture and reconciles a TrainingJob;
#   - TrainingJobE2e.*: every end-to-end scenario with its pods running on the trainer image's root
#     (its sshd, mpirun and trainer) instead of the host's.
# Not in CI: building the trainer image compiles the trainer (about 20 minutes on 2 cores).
#
# usage: scripts/test-images.sh [--no-build] [--tag TAG]
set -euo pipefail
cd "$(dirname "$0")/.."

# The images' tag is the chart's appVersion: the chart and manifests/ name these images by default.
tag=${KUBECNN_IMAGE_TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/kubecnn/Chart.yaml)}
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --tag) tag=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "test-images: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
command -v buildah >/dev/null || { echo "test-images: needs buildah (apt-get install buildah)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test-images: needs root (pods run in namespaces)" >&2; exit 1; }

if [ "$build" = 1 ]; then
  bash scripts/build-images.sh --tag "$tag" --only operator
  bash scripts/build-images.sh --tag "$tag" --only trainer-cpu
fi
e2e=${KUBECNN_BUILD_DIR:-build}/tests/e2e/training_job_e2e_tests
[ -x "$e2e" ] || bash scripts/build.sh

containers=()
cleanup() {
  for c in "${containers[@]}"; do
    buildah umount "$c" >/dev/null 2>&1 || true
    buildah rm "$c" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
mount_image() {
  local ctr
  ctr=$(buildah from --pull=never "$1")
  containers+=("$ctr")
  buildah mount "$ctr"
}
trainer_root=$(mount_image "kubecnn/trainer:$tag-cpu")
operator_root=$(mount_image "kubecnn/operator:$tag")
echo "test-images: trainer root $trainer_root, operator root $operator_root"

KUBECNN_E2E_TRAINER_ROOTFS=$trainer_root KUBECNN_E2E_OPERATOR_ROOTFS=$operator_root \
  "$e2e" --gtest_filter='TrainerImage.*:OperatorImage.*:TrainingJobE2e.*'

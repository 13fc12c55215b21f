#!/usr/bin/env bash
# The operator at scale on a real control plane: for each N (default 100 1000), N TrainingJobs run
# by the built kubecnn-operator with the chart's client QPS limit (--kube_api_qps=50
# --kube_api_burst=100) and with none (--kube_api_qps=0), each on a fresh control plane with a
# hollow node, against the physical limit (the same objects from a plain parallel client); prints a
# table per N and the ratios. A benchmark: it asserts nothing.
#
# Usage: bench/run_operator_scale_bench.sh [N ...]
# Environment: BUILD_DIR (default build: needs bench/operator_scale_bench and operator/kubecnn-operator),
# KUBEBUILDER_ASSETS (default: bash scripts/k8s-assets.sh $BUILD_DIR/k8s-assets), BENCH_FLAGS (more
# operator_scale_bench flags, e.g. --launcher_seconds=1 --scheduler_qps=5000 --concurrency=4 --unlimited_only --rounds=3).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bench=$build/bench/operator_scale_bench
for f in "$bench" "$build/operator/kubecnn-operator"; do
  [ -x "$f" ] || { echo "run_operator_scale_bench: $f is not built (ninja -C $build operator_scale_bench)" >&2; exit 1; }
done
if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  KUBEBUILDER_ASSETS=$(bash "$root/scripts/k8s-assets.sh" "$build/k8s-assets")
  export KUBEBUILDER_ASSETS
fi
[ $# -gt 0 ] || set -- 100 1000
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
exec "$bench" --operator="$build/operator/kubecnn-operator" ${BENCH_FLAGS:-} "$@"

#!/usr/bin/env bash
# Everything from a fresh machine to a green test run: dependencies, build, the format check, a
# short libFuzzer run over the TFRecord + Example parsers, then every test suite (last, so its
# summary closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
bash scripts/check-format.sh
fuzz_log=${KUBECNN_BUILD_DIR:-build}/fuzz.log
if ! FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/run-fuzzer.sh >"$fuzz_log" 2>&1; then
  tail -60 "$fuzz_log"
  echo "test: the fuzzer found a failing input (see build-fuzz/fuzz-artifacts/)" >&2
  exit 1
fi
grep -E "^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)" "$fuzz_log" | sed 's/^/fuzz: /'
# The real control plane of the controlplane-labelled tests (envtest's KUBEBUILDER_ASSETS); without
# it they skip (fail under CI) and say how to get it.
if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  if assets=$(bash scripts/k8s-assets.sh "${KUBECNN_BUILD_DIR:-build}/k8s-assets"); then
    export KUBEBUILDER_ASSETS=$assets
  else
    echo "test: no Kubernetes control-plane binaries; the control-plane tests will skip (fail under CI)" >&2
  fi
fi
# The tests' scratch (each control plane's etcd, checkpoints, Ceph's monitor) is under gtest's
# TEST_TMPDIR, else /tmp; a nearly full disk fails many tests at once ("no space left on device"),
# so its free space is said before the run and again after a failed one.
scratch=${TEST_TMPDIR:-/tmp}
free_space() {
  df -h --output=avail,size "$scratch" | awk -v d="$scratch" 'NR == 2 { print "test: " $1 " free of " $2 " on " d }'
}
free_space
ctest --test-dir "${KUBECNN_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" || {
  rc=$?
  free_space >&2
  exit $rc
}

#!/usr/bin/env bash
# Everything from a fresh machine to a green test run: dependencies, build, every test suite,
# a format check, and a short libFuzzer run over the TFRecord + Example parser.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir "${KUBECNN_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
bash scripts/check-format.sh
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/run-fuzzer.sh

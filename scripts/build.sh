#!/usr/bin/env bash
# Configures and builds kubecnn into ./build (or $KUBECNN_BUILD_DIR) with Ninja, ccache and the
# LibTorch from scripts/install-deps.sh. Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${KUBECNN_BUILD_DIR:-build}
jobs=${KUBECNN_JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/kubecnn-ccache}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} "$@"
cmake --build "$build_dir" -j "$jobs"

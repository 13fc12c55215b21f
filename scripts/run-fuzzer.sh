#!/usr/bin/env bash
# Builds the TFRecord/Example libFuzzer target with clang (ASan + UBSan) in its own build dir, seeds a
# corpus from ../shared/testdata and fuzzes for FUZZ_SECONDS (default 60). Exits non-zero on a crash,
# leak, timeout or sanitizer report; the failing input is left in <build>/fuzz-artifacts/.
#
#   FUZZ_SECONDS=300 scripts/run-fuzzer.sh
#   FUZZ_BUILD_DIR=/tmp/fz KUBECNN_TESTDATA_DIR=/data/testdata scripts/run-fuzzer.sh -jobs=2   # extra args go to libFuzzer
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
testdata="${KUBECNN_TESTDATA_DIR:-$root/../shared/testdata}"
seconds="${FUZZ_SECONDS:-60}"
max_len="${FUZZ_MAX_LEN:-65536}"

for tool in clang clang++ cmake; do
  command -v "$tool" >/dev/null || { echo "run-fuzzer: $tool not found (apt-get install clang cmake)" >&2; exit 2; }
done

# Only the fuzz targets: no trainer (so no LibTorch), operator or benchmarks.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKUBECNN_BUILD_FUZZERS=ON \
  -DKUBECNN_BUILD_TRAINER=OFF \
  -DKUBECNN_BUILD_OPERATOR=OFF \
  -DKUBECNN_BUILD_BENCH=OFF \
  -DKUBECNN_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j2 --target tfrecord_example_fuzzer

fuzzer="$build/tests/fuzz/tfrecord_example_fuzzer"
corpus="$build/fuzz-corpus/tfrecord_example"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"

# Seeds: the start of every TFRecord and TensorBoard event file (whole small records, cut large ones).
seeded=0
if [[ -d "$testdata" ]]; then
  while IFS= read -r -d '' file; do
    name="seed-$(printf '%s' "${file#"$testdata"/}" | tr '/' '_')"
    [[ -e "$corpus/$name" ]] || head -c "$max_len" "$file" >"$corpus/$name"
    seeded=$((seeded + 1))
  done < <(find "$testdata"/tfrecord-* "$testdata"/tfevents-* -type f ! -name '*.txt' -print0 2>/dev/null)
fi
echo "run-fuzzer: $seeded seed files from $testdata; corpus $corpus; ${seconds}s" >&2

exec "$fuzzer" "$corpus" \
  -max_total_time="$seconds" \
  -max_len="$max_len" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" \
  -print_final_stats=1 \
  "$@"

#!/usr/bin/env bash
# Decode + augment images/s per core: kubecnn's C++ path against torchvision + PIL, same photos, same run.
#
# Usage: bench/run_data_bench.sh [image_dir] [seconds_per_config]
#   image_dir           default ../shared/testdata/jpeg-imagenet-samples (beside the repo)
#   seconds_per_config  default 3
# Environment:
#   BENCH_BIN   a built data_pipeline_bench (default: build it in $BUILD_DIR, RelWithDebInfo, no LibTorch)
#   BUILD_DIR   default build-bench
#   PYTHON      Python with torch, torchvision and Pillow (default /opt/kubecnn/venv/bin/python3,
#               made by scripts/install-deps.sh)
#   ROUNDS      run both sides this many times, alternately, and keep each configuration's best
#               (default 1; use 3 on a shared machine, where other work only ever slows a run down)
# Both sides hold the JPEG bytes in memory and run on one thread, so file reads are not timed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
images=${1:-$root/../shared/testdata/jpeg-imagenet-samples}
seconds=${2:-3}
build_dir=${BUILD_DIR:-$root/build-bench}
bench_bin=${BENCH_BIN:-$build_dir/bench/data_pipeline_bench}
python=${PYTHON:-/opt/kubecnn/venv/bin/python3}
rounds=${ROUNDS:-1}

if [ ! -d "$images" ]; then
  echo "run_data_bench: no image folder $images (pass one, e.g. ../shared/testdata/jpeg-imagenet-samples)" >&2
  exit 1
fi
if [ ! -x "$bench_bin" ]; then
  echo "run_data_bench: building data_pipeline_bench in $build_dir" >&2
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKUBECNN_WITH_TORCH=OFF \
    -DKUBECNN_BUILD_BENCH=ON -DKUBECNN_BUILD_TESTS=OFF -DKUBECNN_BUILD_OPERATOR=OFF >/dev/null
  cmake --build "$build_dir" --target data_pipeline_bench -j2 >/dev/null
fi
if [ ! -x "$python" ]; then
  echo "run_data_bench: no Python at $python (run scripts/install-deps.sh or set PYTHON)" >&2
  exit 1
fi

cpp_out=""
py_out=""
for ((round = 1; round <= rounds; round++)); do
  cpp_round=$("$bench_bin" "$images" "$seconds")
  py_round=$("$python" "$root/bench/torchvision_pipeline.py" "$images" "$seconds")
  if [ "$round" = 1 ]; then
    echo "$cpp_round" | grep -v '^RESULT' || true
    echo "$py_round" | grep -v '^RESULT' || true
  fi
  cpp_out+="$cpp_round"$'\n'
  py_out+="$py_round"$'\n'
done
echo "rounds: $rounds (best of each configuration)"
echo

# "RESULT <config> <img/s> [dct_scaled=N%]" lines from both, then one table.
{ echo "$cpp_out" | awk '$1 == "RESULT" { print "cpp", $2, $3, $4 }'
  echo "$py_out" | awk '$1 == "RESULT" { print "py", $2, $3 }'; } | awk '
  $1 == "cpp" { if (!($2 in cpp)) order[++n] = $2; if ($3 > cpp[$2]) { cpp[$2] = $3; dct[$2] = $4 } }
  $1 == "py"  { if ($3 > py[$2]) py[$2] = $3 }
  END {
    for (i = 1; i <= n; i++) {
      name = order[i]
      split(name, part, "_")          # train_dct_fast -> train, dct, fast
      ref = part[1]
      label = sprintf("%s (DCT scaling %s, %s)", ref, part[2] == "dct" ? "on " : "off", part[3] == "fast" ? "fast_dct" : "exact   ")
      if (ref in py && py[ref] > 0)
        printf "%-40s kubecnn %6.0f img/s/core  torchvision %5.0f img/s/core  ratio %.2fx  [%s]\n", label, cpp[name], py[ref], cpp[name] / py[ref], dct[name]
      else
        printf "%-40s kubecnn %6.0f img/s/core  [%s]\n", label, cpp[name], dct[name]
    }
    if (("train_dct_fast" in cpp) && ("train_dct_exact" in cpp))
      printf "fast_dct vs exact: train %.2fx", cpp["train_dct_fast"] / cpp["train_dct_exact"]
    if (("eval_dct_fast" in cpp) && ("eval_dct_exact" in cpp))
      printf ", eval %.2fx", cpp["eval_dct_fast"] / cpp["eval_dct_exact"]
    printf "\n"
    if (("train_dct_fast" in cpp) && ("train_nodct_fast" in cpp))
      printf "DCT scaling on vs off (train, fast_dct): %.2fx\n", cpp["train_dct_fast"] / cpp["train_nodct_fast"]
  }'

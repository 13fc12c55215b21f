#!/usr/bin/env bash
# Training speed of the big models on the CPU: `kubecnn-trainer bench` (synthetic data) against
# PyTorch eager (bench/cpu_model_reference.py: torchvision's model, SGD with Nesterov momentum, one
# fixed input tensor) on the same thread count, run back to back and alternated, best of ROUNDS
# each; prints images/s and the ratio per model.
#
# Usage: bench/run_cpu_model_compare.sh   (after scripts/build.sh; MODELS, BATCH, STEPS, THREADS, ROUNDS override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
trainer=${TRAINER:-$root/${KUBECNN_BUILD_DIR:-build}/trainer/kubecnn-trainer}
python=${PYTHON:-/opt/kubecnn/venv/bin/python3}
models=${MODELS:-resnet50 inception3}
batch=${BATCH:-16}
steps=${STEPS:-8}
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-2}

best() { sort -g | tail -1; }

printf '%-12s %6s %7s %14s %14s %7s\n' model batch threads "kubecnn img/s" "pytorch img/s" ratio
for model in $models; do
  cpp=() py=()
  for _ in $(seq "$rounds"); do
    cpp+=("$(OMP_NUM_THREADS=$threads "$trainer" bench --model="$model" --batch_size="$batch" --num_batches="$steps" \
      2>/dev/null | sed -n 's/^bench: .*: \([0-9.]*\) images\/s$/\1/p')")
    py+=("$(OMP_NUM_THREADS=$threads "$python" "$root/bench/cpu_model_reference.py" --model="$model" \
      --batch_size="$batch" --steps="$steps" --threads="$threads" | sed -n 's/^RESULT .*images_per_second \([0-9.]*\)$/\1/p')")
  done
  c=$(printf '%s\n' "${cpp[@]}" | best)
  p=$(printf '%s\n' "${py[@]}" | best)
  if [ -z "$c" ] || [ -z "$p" ]; then
    echo "run_cpu_model_compare: no figure for $model (kubecnn: ${cpp[*]:-none}, pytorch: ${py[*]:-none})" >&2
    exit 1
  fi
  printf '%-12s %6s %7s %14s %14s %6.2fx   (all runs: kubecnn %s; pytorch %s)\n' "$model" "$batch" "$threads" "$c" "$p" \
    "$(awk -v c="$c" -v p="$p" 'BEGIN { print c / p }')" "${cpp[*]}" "${py[*]}"
done

#!/usr/bin/env bash
# The main job's proof: kubecnn-trainer and plain PyTorch train ResNet-18 on Fashion-MNIST with the
# same recipe in the same run; prints top-1 and training images/s side by side.
#
# Two epochs from scratch vary by a few top-1 points from seed to seed, so compare top-1 over
# several seeds: SEEDS="1234 7 42 5 99" trains each side once per seed and prints the mean, the
# standard deviation and the range of each side.
#
# Usage: bench/run_fashion_mnist_compare.sh   (after scripts/build.sh; EPOCHS, IMAGE_SIZE, BATCH, SEEDS override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
trainer=${TRAINER:-$root/${KUBECNN_BUILD_DIR:-build}/trainer/kubecnn-trainer}
python=${PYTHON:-/opt/kubecnn/venv/bin/python3}
out=${KUBECNN_OUT:-$root/out}
epochs=${EPOCHS:-2}
size=${IMAGE_SIZE:-32}
batch=${BATCH:-128}
seeds=${SEEDS:-1234}
shards=$out/fashion-mnist

if [ ! -f "$shards/validation-00001-of-00002" ]; then
  "$trainer" make-shards --fashion_mnist=/usr/share/datasets/fashion-mnist --output_dir="$shards" \
    --train_shards=8 --validation_shards=2 --overwrite
fi
results=$out/compare-results.txt
: >"$results"
for seed in $seeds; do
  run=$out/fashion-mnist-resnet18-seed$seed
  rm -rf "$run"
  "$trainer" --model=resnet18 --data_dir="$shards" --num_classes=10 --image_size="$size" --batch_size="$batch" \
    --num_epochs="$epochs" --learning_rate=0.1 --crop_area_min=0.5 --log_dir="$run" --display_every=50 \
    --seed="$seed" | tee "$out/kubecnn-train-$seed.log"
  "$trainer" --eval --data_dir="$shards" --log_dir="$run" --batch_size=256 | tee "$out/kubecnn-eval-$seed.log"
  "$python" "$root/bench/fashion_mnist_reference.py" --epochs="$epochs" --image_size="$size" --batch_size="$batch" \
    --lr=0.1 --area_min=0.5 --seed="$seed" | tee "$out/python-reference-$seed.log"
  cpp_speed=$(sed -n 's/^Images\/sec: \([0-9.]*\).*/\1/p' "$out/kubecnn-train-$seed.log" | tail -1)
  cpp_top1=$(sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p' "$out/kubecnn-eval-$seed.log" | tail -1)
  py_top1=$(sed -n 's/^RESULT top1 \([0-9.]*\).*/\1/p' "$out/python-reference-$seed.log")
  py_speed=$(sed -n 's/^RESULT .*images_per_second \([0-9.]*\).*/\1/p' "$out/python-reference-$seed.log")
  echo "$seed $cpp_top1 $cpp_speed $py_top1 $py_speed" >>"$results"
done

printf '\n%-8s %-10s %8s %12s\n' "seed" "" "top-1 %" "train img/s"
awk '{ printf "%-8s %-10s %8s %12s\n%-8s %-10s %8s %12s\n", $1, "kubecnn", $2, $3, "", "pytorch", $4, $5 }' "$results"
awk 'function sd(sum, sq, n) { return n > 1 ? sqrt((sq - sum * sum / n) / (n - 1)) : 0 }
     NR == 1 { cmin = cmax = $2; pmin = pmax = $4 }
     { ct += $2; cq += $2 * $2; cs += $3; pt += $4; pq += $4 * $4; ps += $5; n++
       if ($2 < cmin) cmin = $2; if ($2 > cmax) cmax = $2; if ($4 < pmin) pmin = $4; if ($4 > pmax) pmax = $4 }
     END { if (n > 1) {
             printf "top-1 over %d seeds: kubecnn mean %.2f%% (sd %.2f, %.2f-%.2f), pytorch mean %.2f%% (sd %.2f, %.2f-%.2f)\n",
                    n, ct/n, sd(ct, cq, n), cmin, cmax, pt/n, sd(pt, pq, n), pmin, pmax
             printf "train speed: kubecnn %.1f img/s, pytorch %.1f img/s (means)\n", cs/n, ps/n }
           printf "top-1 difference %+.2f points, speed ratio %.2fx\n", (ct - pt) / n, cs / ps }' "$results"

#!/usr/bin/env bash
# The main job's proof: kubecnn-trainer and plain PyTorch train ResNet-18 on Fashion-MNIST with the
# same recipe in the same run; prints top-1 and training images/s side by side.
#
# Usage: bench/run_fashion_mnist_compare.sh   (after scripts/build.sh; EPOCHS, IMAGE_SIZE, BATCH override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
trainer=${TRAINER:-$root/${KUBECNN_BUILD_DIR:-build}/trainer/kubecnn-trainer}
python=${PYTHON:-/opt/kubecnn/venv/bin/python3}
out=${KUBECNN_OUT:-$root/out}
epochs=${EPOCHS:-2}
size=${IMAGE_SIZE:-32}
batch=${BATCH:-128}
shards=$out/fashion-mnist
run=$out/fashion-mnist-resnet18

if [ ! -f "$shards/validation-00001-of-00002" ]; then
  "$trainer" make-shards --fashion_mnist=/usr/share/datasets/fashion-mnist --output_dir="$shards" \
    --train_shards=8 --validation_shards=2 --overwrite
fi
rm -rf "$run"
"$trainer" --model=resnet18 --data_dir="$shards" --num_classes=10 --image_size="$size" --batch_size="$batch" \
  --num_epochs="$epochs" --learning_rate=0.1 --crop_area_min=0.5 --log_dir="$run" --display_every=50 \
  | tee "$out/kubecnn-train.log"
"$trainer" --eval --data_dir="$shards" --log_dir="$run" --batch_size=256 | tee "$out/kubecnn-eval.log"
"$python" "$root/bench/fashion_mnist_reference.py" --epochs="$epochs" --image_size="$size" --batch_size="$batch" \
  --lr=0.1 --area_min=0.5 | tee "$out/python-reference.log"

cpp_speed=$(sed -n 's/^Images\/sec: \([0-9.]*\).*/\1/p' "$out/kubecnn-train.log" | tail -1)
cpp_top1=$(sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p' "$out/kubecnn-eval.log" | tail -1)
py_top1=$(sed -n 's/^RESULT top1 \([0-9.]*\).*/\1/p' "$out/python-reference.log")
py_speed=$(sed -n 's/^RESULT .*images_per_second \([0-9.]*\).*/\1/p' "$out/python-reference.log")
printf '\n%-12s %8s %12s\n' "" "top-1 %" "train img/s"
printf '%-12s %8s %12s\n' "kubecnn" "$cpp_top1" "$cpp_speed" "pytorch" "$py_top1" "$py_speed"
awk -v a="$cpp_top1" -v b="$py_top1" -v c="$cpp_speed" -v d="$py_speed" \
  'BEGIN { printf "top-1 difference %+.2f points, speed ratio %.2fx\n", a - b, c / d }'

#!/usr/bin/env bash
# The main job from a fresh machine: install, build, turn Fashion-MNIST into ImageNet-style
# TFRecord shards, then measure the input pipeline on them and on real photographs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
trainer=${KUBECNN_BUILD_DIR:-build}/trainer/kubecnn-trainer
shards=${KUBECNN_OUT:-out}/fashion-mnist
if [ ! -f "$shards/validation-00001-of-00002" ]; then
  "$trainer" make-shards --fashion_mnist=/usr/share/datasets/fashion-mnist --output_dir="$shards" \
    --train_shards=8 --validation_shards=2 --overwrite
fi
"$trainer" inspect --records=1 "$shards/train-00000-of-00008"
"$trainer" bench-input --data_dir="$shards" --batch_size=256 --image_size=32 --num_batches=100
"$trainer" bench-input --data_dir="$shards" --batch_size=256 --image_size=32 --num_batches=20 --eval
BENCH_BIN=${KUBECNN_BUILD_DIR:-build}/bench/data_pipeline_bench bash bench/run_data_bench.sh

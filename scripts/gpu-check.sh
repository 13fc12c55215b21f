#!/usr/bin/env bash
# On a lent GPU machine (CUDA, PyTorch and NCCL, no registry). With .gpu/ (scripts/gpu-bundle.sh:
# this build's stripped binaries, their non-system libraries and two real TFRecord shards) it runs
# those binaries against the machine's LibTorch; with only .deps/ (scripts/gpu-prepare.sh) it
# unpacks the .debs into a private prefix and builds kubecnn-trainer there first. Then it runs the
# LibTorch tests that need CUDA, trains ResNet-50 on the real shards (fp16, channels_last) and
# evaluates the checkpoint, measures ResNet-50 training throughput on synthetic data beside PyTorch
# eager AMP (bench/resnet50_amp_reference.py) in the same run, and the step with and without the
# NCCL communicator on one GPU (--force_gradient_sync). Logs go to $OUT when it is set.
#
# Environment: GPU_STEPS (default 120), GPU_BATCH (256), PRECISIONS ("fp16 bf16").
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/kubecnn-gpu}
mkdir -p "$out"
python=${PYTHON:-$(command -v python3)}
steps=${GPU_STEPS:-120}
batch=${GPU_BATCH:-256}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
"$python" -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$out/gpu.txt"

if [[ -x .gpu/bin/kubecnn-trainer ]]; then
  # LibTorch and the CUDA libraries of the machine's torch wheel, the rest from the bundle.
  site=$("$python" -c 'import os,torch;print(os.path.dirname(os.path.dirname(torch.__file__)))')
  dirs="$PWD/.gpu/lib:$site/torch/lib"
  for d in $(find "$site/nvidia" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u); do dirs="$dirs:$d"; done
  export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  trainer=.gpu/bin/kubecnn-trainer
  if ldd "$trainer" .gpu/bin/trainer_data_torch_tests | grep "not found"; then
    echo "gpu-check: libraries missing above (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)" >&2
    exit 1
  fi
  .gpu/bin/trainer_data_torch_tests 2>&1 | tee "$out/torch-tests.log" | grep -E "^\[  (PASSED|FAILED|SKIPPED) " || true
  grep -q "^\[  FAILED" "$out/torch-tests.log" && { echo "gpu-check: LibTorch tests failed" >&2; exit 1; }
  # A real training run: JPEG-in-TFRecord shards, decode and augment on the CPU, fp16 on the GPU.
  logdir=/tmp/kubecnn-gpu-train
  rm -rf "$logdir"
  # Its /metrics (the serving layer's thread beside the CUDA libraries) is scraped while it trains.
  "$trainer" train --model=resnet50 --data_dir=.gpu/data --label_offset=0 --num_classes=5 --batch_size=32 \
    --num_epochs=20 --fp16 --num_data_threads=8 --log_dir="$logdir" --display_every=4 --metrics_port=9400 \
    >"$out/train.log" 2>&1 &
  training=$!
  scraped=""
  while kill -0 "$training" 2>/dev/null; do
    # the machine's curl, not against the bundle's libcurl and OpenSSL
    if env -u LD_LIBRARY_PATH curl -sf --max-time 2 http://127.0.0.1:9400/metrics >"$out/metrics.txt" 2>/dev/null &&
      grep -q '^kubecnn_train_step' "$out/metrics.txt"; then
      scraped=yes
      break
    fi
    sleep 1
  done
  wait "$training" || { tail -20 "$out/train.log"; exit 1; }
  tail -5 "$out/train.log"
  [ -n "$scraped" ] && echo "metrics scraped mid-run: $(grep -c '^kubecnn_' "$out/metrics.txt") samples, e.g. $(grep -m1 '^kubecnn_train_step' "$out/metrics.txt")" ||
    echo "gpu-check: the trainer's /metrics never answered while it trained" >&2
  "$trainer" train --model=resnet50 --data_dir=.gpu/data --label_offset=0 --num_classes=5 --batch_size=32 \
    --fp16 --num_data_threads=8 --log_dir="$logdir" --eval 2>&1 | tee "$out/eval.log" | tail -4
  ls "$logdir" | tee "$out/train-files.txt"
else
  prefix=/tmp/kubecnn-deps
  ls .deps/*.deb >/dev/null 2>&1 || {
    echo "gpu-check: neither .gpu/ (scripts/gpu-bundle.sh) nor .deps/*.deb (scripts/gpu-prepare.sh) was carried" >&2
    exit 2
  }
  rm -rf "$prefix" && mkdir -p "$prefix"
  for deb in .deps/*.deb; do dpkg -x "$deb" "$prefix"; done
  lib="$prefix/usr/lib/x86_64-linux-gnu"
  # The .pc and CMake files say /usr: point pkg-config at the prefix, and let CMake search it first.
  export PATH="$prefix/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$prefix" PKG_CONFIG_LIBDIR="$lib/pkgconfig"
  build=build-gpu
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKUBECNN_PYTHON="$python" \
    -DKUBECNN_BUILD_OPERATOR=OFF -DKUBECNN_BUILD_TESTS=OFF -DKUBECNN_BUILD_BENCH=OFF \
    -DCMAKE_PREFIX_PATH="$prefix/usr;$lib/cmake" -DProtobuf_PROTOC_EXECUTABLE="$prefix/usr/bin/protoc" \
    -DProtobuf_INCLUDE_DIR="$prefix/usr/include" -DProtobuf_LIBRARY="$lib/libprotobuf.so" \
    -DCMAKE_CUDA_ARCHITECTURES=90 >"$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
  grep "kubecnn: LibTorch" "$out/configure.log"
  cmake --build "$build" --target kubecnn-trainer -j "$(nproc)" >"$out/build.log" 2>&1 || { grep -m20 -B2 -A8 "error" "$out/build.log"; exit 1; }
  trainer="$build/trainer/kubecnn-trainer"
fi

summary="$out/summary.txt"
: >"$summary"
for precision in ${PRECISIONS:-fp16 bf16}; do
  "$trainer" bench --model=resnet50 --batch_size="$batch" --num_batches="$steps" "--$precision" --channels_last \
    --cudnn_benchmark 2>&1 | tee "$out/kubecnn-$precision.log" | grep -E "^bench:" | tee -a "$summary"
  PYTHONUNBUFFERED=1 "$python" bench/resnet50_amp_reference.py --batch_size="$batch" --steps="$steps" \
    --precision="$precision" 2>&1 | tee "$out/pytorch-$precision.log" | grep "^RESULT" | tee -a "$summary"
done
# Issue 4's check: one rank, step time with and without the NCCL communicator (fp16 ResNet-50).
for sync in "" --force_gradient_sync; do
  "$trainer" bench --model=resnet50 --batch_size="$batch" --num_batches="$steps" --fp16 --channels_last $sync 2>&1 |
    tee "$out/kubecnn-sync${sync:+-forced}.log" | grep -E "^bench:|averaging" | sed "s/^/[${sync:-no sync}] /" |
    tee -a "$summary"
done
cat "$summary"

#!/usr/bin/env bash
# Here: packs this build's kubecnn-trainer and its LibTorch test binary (stripped), the shared
# libraries they need that are neither glibc/libstdc++ nor LibTorch/CUDA (a GPU machine brings
# those: the same torch 2.11.0+cu130 wheel), and two real TFRecord shards into .gpu/ (git-ignored),
# so that a lent GPU machine runs the very binary CI tested instead of building its own. Then:
#
#   bash scripts/gpu-bundle.sh
#   device run --carry .gpu 'bash scripts/gpu-check.sh'   # prints figures, copies logs to $OUT
#
# Environment: BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
trainer="$build/trainer/kubecnn-trainer"
tests="$build/tests/trainer/data/trainer_data_torch_tests"
for f in "$trainer" "$tests"; do
  [[ -x $f ]] || { echo "gpu-bundle: $f is missing (run scripts/build.sh first)" >&2; exit 2; }
done
rm -rf .gpu && mkdir -p .gpu/bin .gpu/lib .gpu/data
strip -o .gpu/bin/kubecnn-trainer "$trainer"
strip -o .gpu/bin/trainer_data_torch_tests "$tests"
# glibc's own libraries and the C++ runtime come from the GPU machine (newer there); LibTorch, CUDA,
# cuDNN and NCCL from its torch wheel. Everything else (libcurl and its TLS stack, protobuf,
# libjpeg-turbo, prometheus-cpp, tinyxml2, Open MPI) travels.
system='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libutil|libresolv|libstdc\+\+|libgcc_s)\.'
ldd "$trainer" "$tests" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    [[ $name =~ $system ]] && continue
    [[ $path == /opt/kubecnn/venv/* || $path == /usr/local/cuda* ]] && continue
    cp -L "$path" ".gpu/lib/$name"
  done
# Real bytes for a real training run: TF-slim's flowers shards (labels 0..4), as train and validation.
flowers=../shared/testdata/tfrecord-flowers
cp "$flowers/flowers_validation_00000-of-00005.tfrecord" .gpu/data/train-00000-of-00002
cp "$flowers/flowers_validation_00001-of-00005.tfrecord" .gpu/data/train-00001-of-00002
cp "$flowers/flowers_validation_00001-of-00005.tfrecord" .gpu/data/validation-00000-of-00001
echo "gpu-bundle: $(ls .gpu/lib | wc -l) libraries, $(du -sh .gpu | cut -f1) in .gpu/"

#!/usr/bin/env bash
# The main job from a fresh machine: install, build, turn Fashion-MNIST into ImageNet-style
# TFRecord shards, train ResNet-18 on them for 2 epochs on the CPU, evaluate, and train the same
# recipe in plain PyTorch beside it (top-1 and images/s side by side).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
bash bench/run_fashion_mnist_compare.sh

#!/usr/bin/env bash
# Here (Debian bookworm, with registry access): downloads the Debian packages the trainer builds
# against into .deps/ (git-ignored) so that a lent GPU machine, which has CUDA, PyTorch's LibTorch
# and NCCL but no package registry, can build it. Carry .deps to the device and run
# scripts/gpu-check.sh there:
#
#   bash scripts/gpu-prepare.sh
#   device run --carry .deps 'bash scripts/gpu-check.sh'     # prints figures, copies logs to $OUT
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(
  libprotobuf-dev libprotobuf32 libprotobuf-lite32 protobuf-compiler libprotoc32
  libturbojpeg0-dev libturbojpeg0 libjpeg62-turbo-dev libjpeg62-turbo
  prometheus-cpp-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0
  civetweb libcivetweb-dev libcivetweb1 libmicrohttpd-dev libmicrohttpd12 libcurl4-openssl-dev libcurl4 libtinyxml2-dev libtinyxml2-9
  zlib1g-dev pkgconf pkgconf-bin libpkgconf3 nlohmann-json3-dev
)
mkdir -p .deps
rm -f .deps/*.deb
(cd .deps && apt-get download "${packages[@]}" >/dev/null)
echo "gpu-prepare: $(ls .deps/*.deb | wc -l) packages, $(du -sh .deps | cut -f1) in .deps/"

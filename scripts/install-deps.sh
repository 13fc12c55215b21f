#!/usr/bin/env bash
# Installs everything kubecnn needs to build and test on Debian bookworm; safe to re-run.
#
# - Debian packages: toolchain, OpenMPI, protobuf, libjpeg-turbo, prometheus-cpp,
#   yaml-cpp, nlohmann-json, GoogleTest, Fashion-MNIST, clang (libFuzzer); sshd, ssh and iproute2
#   for the end-to-end suite's pods; libcurl (the operator's HTTP, and the S3 client: SigV4
#   signing, TLS) and tinyxml2 (S3's XML answers); Ceph's mon, osd and radosgw, the real S3
#   server the storage tests run;
#   etcd-server, the store of the tests' real Kubernetes control plane (scripts/k8s-assets.sh);
#   libmicrohttpd, the HTTP server of both binaries' health and metrics endpoints.
# - LibTorch: the CUDA build inside PyPI's torch wheel, in a virtualenv at $KUBECNN_VENV
#   (default /opt/kubecnn/venv) that later runs reuse; torchvision and Pillow beside it for
#   the Python reference benchmarks; helm-python-sdk and PyYAML for the chart's tests; TensorBoard and
#   boto3, whose readers check our event files (on disk and in a bucket).
set -euo pipefail

KUBECNN_VENV=${KUBECNN_VENV:-/opt/kubecnn/venv}
# Same minor version as the GPU machines' PyTorch (2.11.0+cu130), so one code base fits both.
TORCH_VERSION=${TORCH_VERSION:-2.11.0}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-0.26.0}
# TensorBoard's own reader checks our event files in the tests; boto3 is what it reads s3:// with.
TENSORBOARD_VERSION=${TENSORBOARD_VERSION:-2.21.0}
BOTO3_VERSION=${BOTO3_VERSION:-1.44.8}
# Helm v4's engine as a Python library: the chart's tests lint and render with it (no helm binary).
HELM_SDK_VERSION=${HELM_SDK_VERSION:-0.2.2}

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

apt_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev clang-format
  libopenmpi-dev openmpi-bin
  libprotobuf-dev protobuf-compiler
  libturbojpeg0-dev libjpeg62-turbo-dev
  libssl-dev
  libcurl4-openssl-dev libtinyxml2-dev
  prometheus-cpp-dev libmicrohttpd-dev
  libyaml-cpp-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  zlib1g-dev libseccomp-dev
  dataset-fashion-mnist
  python3-venv
  openssh-server openssh-client iproute2 ca-certificates
  ceph-mon ceph-osd radosgw
  etcd-server
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO apt-get clean  # the downloaded .debs (1.5 GB): the build and the tests' scratch need the disk
fi

venv_ok() {
  [ -x "$KUBECNN_VENV/bin/python3" ] &&
    "$KUBECNN_VENV/bin/python3" - "$TORCH_VERSION" "$TORCHVISION_VERSION" "$HELM_SDK_VERSION" "$BOTO3_VERSION" <<'PY' 2>/dev/null
import sys, importlib.metadata, torch, torchvision, PIL, tensorboard, yaml, helm_python, boto3
ok = torch.__version__.split("+")[0] == sys.argv[1] and torchvision.__version__.split("+")[0] == sys.argv[2]
ok = ok and importlib.metadata.version("helm-python-sdk") == sys.argv[3] and boto3.__version__ == sys.argv[4]
sys.exit(0 if ok else 1)
PY
}

if ! venv_ok; then
  echo "install-deps: torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION into $KUBECNN_VENV"
  $SUDO mkdir -p "$(dirname "$KUBECNN_VENV")"
  [ -x "$KUBECNN_VENV/bin/python3" ] || $SUDO python3 -m venv "$KUBECNN_VENV"
  $SUDO "$KUBECNN_VENV/bin/python3" -m pip install -q --no-cache-dir \
    "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" pillow numpy "tensorboard==$TENSORBOARD_VERSION" \
    "helm-python-sdk==$HELM_SDK_VERSION" pyyaml "boto3==$BOTO3_VERSION"
fi

echo "install-deps: ok (LibTorch at $("$KUBECNN_VENV/bin/python3" -c 'import torch;print(torch.utils.cmake_prefix_path)'))"

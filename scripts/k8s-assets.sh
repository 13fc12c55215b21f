#!/usr/bin/env bash
# Makes a KUBEBUILDER_ASSETS folder (controller-runtime envtest's convention) for the tests' real
# control plane (tests/support/control_plane.h): symlinks kube-apiserver, kube-controller-manager and
# kube-scheduler to the multi-call binary ../shared/k8s/v1.26/k8sbin (it picks the program from the
# name it is run by), etcd to Debian's etcd-server, and kubectl to a 1.27 build when there is one.
# Prints the folder (default build/k8s-assets, or DIR):
#
#   export KUBEBUILDER_ASSETS=$(bash scripts/k8s-assets.sh [DIR])
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$repo/build/k8s-assets}
k8sbin=${KUBECNN_K8SBIN:-$repo/../shared/k8s/v1.26/k8sbin}

fail() {
  echo "k8s-assets: $*" >&2
  exit 1
}

[ -x "$k8sbin" ] || fail "no Kubernetes v1.26 binaries at $k8sbin (see ../shared/k8s/README.md; or set" \
  "KUBECNN_K8SBIN to a k8sbin, or KUBEBUILDER_ASSETS to an envtest folder from setup-envtest yourself)"
k8sbin=$(realpath "$k8sbin")
etcd=$(command -v etcd || true)
[ -n "$etcd" ] || fail "no etcd on PATH: apt-get install etcd-server (scripts/install-deps.sh does)"
kubectl=/usr/lib/google-cloud-sdk/bin/kubectl.1.27  # within the supported skew of a 1.26 server
[ -x "$kubectl" ] || kubectl=$(command -v kubectl || true)

mkdir -p "$dir"
dir=$(realpath "$dir")
declare -A describes=([kube-apiserver]="API server" [kube-controller-manager]="controller manager"
  [kube-scheduler]="scheduler")
for program in kube-apiserver kube-controller-manager kube-scheduler; do
  ln -sfn "$k8sbin" "$dir/$program"
  # k8sbin dispatches on the name it was started by: check that each link selects its program.
  version=$("$dir/$program" --version 2>&1) || fail "$dir/$program --version failed: $version"
  [[ $version == "Kubernetes v1.26."* ]] || fail "$dir/$program --version says '$version', not Kubernetes v1.26.x"
  about=$("$dir/$program" --help 2>&1 || true)
  about=${about%%$'\n'*}
  [[ $about == *"${describes[$program]}"* ]] || fail "$dir/$program runs something else: '$about'"
done
ln -sfn "$(realpath "$etcd")" "$dir/etcd"
if [ -n "$kubectl" ]; then
  ln -sfn "$(realpath "$kubectl")" "$dir/kubectl"
else
  rm -f "$dir/kubectl"
  echo "k8s-assets: no kubectl found (/usr/lib/google-cloud-sdk/bin/kubectl.1.27 or on PATH); the tests need one" >&2
fi
echo "$dir"

#!/bin/sh
# The operator image's whole root filesystem, from a built kubecnn-operator: the binary, the shared
# libraries it loads at their Debian paths, CA certificates, users root and nonroot (65532), and a
# world-writable /tmp; nothing else (no shell). docker/operator.Dockerfile copies it onto an empty
# base; the end-to-end suite runs the operator from it as built here (ctest -R OperatorImage).
#
#   operator-rootfs.sh BINARY DEST
set -eu
[ $# -eq 2 ] || { echo "usage: operator-rootfs.sh BINARY DEST" >&2; exit 2; }
binary=$1
dest=$2
here=$(dirname "$0")

sh "$here/stage-libs.sh" --keep-paths "$dest" "$binary"
install -D -m 0755 "$binary" "$dest/usr/local/bin/kubecnn-operator"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
  >"$dest/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$dest/etc/group"
printf 'hosts: files dns\n' >"$dest/etc/nsswitch.conf"
install -d -m 1777 "$dest/tmp"
install -d -m 0755 -o 65532 -g 65532 "$dest/home/nonroot"

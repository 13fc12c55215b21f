#!/bin/sh
# Copies the shared libraries that binaries load (as ldd resolves them) into a staging folder, so
# a runtime image carries what runs and nothing else.
#
#   stage-libs.sh --keep-paths DEST BINARY...   every library, at its own path under DEST (plus the
#                                                dynamic loader): for an image built FROM scratch
#   stage-libs.sh --all-but-libc DEST BINARY...  every library but the C and C++ runtimes (which
#                                                every base image has), flat into DEST: for a
#                                                runtime image that lists DEST in ld.so.conf
#
# The GPU driver's libraries (libcuda, libnvidia-ml) are the node's, mounted into the container by
# NVIDIA's container toolkit: they may be missing here and are never staged.
set -eu

usage() {
  echo "usage: stage-libs.sh (--keep-paths | --all-but-libc) DEST BINARY..." >&2
  exit 2
}

[ $# -ge 3 ] || usage
mode=$1
case "$mode" in
  --keep-paths) shift ;;
  --all-but-libc) shift ;;
  *) usage ;;
esac
dest=$1
shift
mkdir -p "$dest"
if [ "$mode" = --keep-paths ]; then
  # A merged-/usr system (Debian 12) reaches /lib and /lib64 through links: keep them links.
  for top in /lib /lib32 /lib64 /bin /sbin; do
    if [ -L "$top" ] && [ ! -e "$dest$top" ]; then ln -s "$(readlink "$top")" "$dest$top"; fi
  done
fi

for binary in "$@"; do
  missing=$(ldd "$binary" | grep "not found" | grep -Ev "^\s*lib(cuda|nvidia-ml)\.so" || true)
  if [ -n "$missing" ]; then
    echo "stage-libs: $binary has unresolved libraries:" >&2
    echo "$missing" >&2
    exit 1
  fi
  # "libfoo.so.1 => /path/libfoo.so.1 (0x...)" and the loader's "/lib64/ld-linux-x86-64.so.2 (0x...)"
  ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    if [ "$mode" = --keep-paths ]; then
      # The file at its real path, and the name it is asked for as a link to it (libz.so.1).
      real=$(readlink -f "$lib")
      dir=$(readlink -f "$(dirname "$lib")")
      mkdir -p "$dest$(dirname "$real")" "$dest$dir"
      cp "$real" "$dest$real"
      name=$(basename "$lib")
      if [ "$dir/$name" != "$real" ] && [ ! -e "$dest$dir/$name" ]; then
        ln -s "$real" "$dest$dir/$name"  # absolute: resolved inside the image
      fi
    else
      case "$(basename "$lib")" in
        ld-linux*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libutil.so.*|libresolv.so.*) ;;
        libstdc++.so.*|libgcc_s.so.*) ;;
        *) cp -L "$lib" "$dest/$(basename "$lib")" ;;
      esac
    fi
  done
done

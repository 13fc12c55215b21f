#!/usr/bin/env bash
# Builds kubecnn's images and prints their sizes:
#   kubecnn/operator:TAG     docker/operator.Dockerfile     (TAG: the chart's appVersion unless --tag)
#   kubecnn/trainer:TAG-cpu  docker/trainer.Dockerfile --target cpu   (CPU LibTorch only)
#   kubecnn/trainer:TAG      docker/trainer.Dockerfile (CUDA; with --cuda)
#
# usage: scripts/build-images.sh [--tag TAG] [--cuda] [--only operator|trainer-cpu|trainer-cuda] [--push REGISTRY]
#
# With a Docker daemon it runs `docker build`. Without one it uses buildah (as root: vfs storage,
# chroot isolation). Base images come from the registry; where none can be pulled (an offline
# machine), the Debian bases (debian:bookworm, debian:bookworm-slim) are made with debootstrap
# from the Debian archive and committed locally under those names, so the same Dockerfiles build
# unchanged. NVIDIA's CUDA bases cannot be made that way: the CUDA image needs a registry.
set -euo pipefail
cd "$(dirname "$0")/.."

# The images' tag is the chart's appVersion: the chart and manifests/ name these images by default.
tag=${KUBECNN_IMAGE_TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/kubecnn/Chart.yaml)}
only=""
cuda=0
push=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --cuda) cuda=1; shift ;;
    --only) only=$2; shift 2 ;;
    --push) push=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$only" in
  ""|operator|trainer-cpu|trainer-cuda) ;;
  *) echo "build-images: --only takes operator, trainer-cpu or trainer-cuda, not '$only'" >&2; exit 2 ;;
esac
[ "$only" = trainer-cuda ] && cuda=1
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }

revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
common_args=(--build-arg "VERSION=$tag" --build-arg "REVISION=$revision")

if docker info >/dev/null 2>&1; then
  engine=docker
else
  engine=buildah
  command -v buildah >/dev/null || { echo "build-images: no Docker daemon and no buildah (apt-get install buildah)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "build-images: buildah without a daemon needs root here" >&2; exit 1; }
  export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
fi
echo "build-images: $engine, tag $tag"

# A Debian base under the name a Dockerfile's FROM uses, made from the Debian archive.
debian_base() {
  local name=$1 suite=bookworm rootfs
  buildah inspect --type image "$name" >/dev/null 2>&1 && return 0
  buildah pull "$name" >/dev/null 2>&1 && return 0
  command -v debootstrap >/dev/null || { echo "build-images: cannot pull $name and no debootstrap to make it" >&2; exit 1; }
  echo "build-images: $name cannot be pulled; making it with debootstrap ($suite, minbase)"
  rootfs=$(mktemp -d /var/tmp/kubecnn-base.XXXXXX)
  debootstrap --variant=minbase "$suite" "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 ||
    { tail -20 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  if [[ $name == *-slim ]]; then  # as Docker's slim images: no documentation, manuals or locales
    printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-exclude /usr/share/info/*\n' \
      >"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
    rm -rf "$rootfs"/usr/share/{doc,man,locale,info}/*
  fi
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  local ctr mnt
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  cp -a "$rootfs/." "$mnt/"
  buildah umount "$ctr" >/dev/null
  buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit -q "$ctr" "docker.io/library/$name" >/dev/null
  buildah rm "$ctr" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
}

# build IMAGE DOCKERFILE [extra args...]; also tags the image's "latest" flavour (kubecnn/trainer:latest,
# kubecnn/trainer:latest-cpu), the names manifests/ and the chart use by default.
build() {
  local image=$1 file=$2
  shift 2
  local latest=${image%%:*}:latest${image#*:"$tag"}
  echo "build-images: $image ($latest) <- $file $*"
  if [ "$engine" = docker ]; then
    docker build -f "$file" -t "$image" -t "$latest" "${common_args[@]}" "$@" .
  else
    buildah bud --isolation chroot --pull=never --layers -f "$file" -t "$image" -t "$latest" "${common_args[@]}" "$@" .
  fi
}

size() {
  if [ "$engine" = docker ]; then
    echo "$(($(docker image inspect -f '{{.Size}}' "$1") / 1000000)) MB"
  else
    buildah images --noheading --format '{{.Size}}' "$1"
  fi
}

# A TLS-intercepting proxy between this machine and PyPI: its CA (trusted here) goes to the build
# stages through docker/extra-ca/ (git-ignored), never into the images that run.
for ca in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$ca" ] && cp "$ca" docker/extra-ca/
done

if [ "$engine" = buildah ]; then
  debian_base debian:bookworm
  debian_base debian:bookworm-slim
fi
built=()
if wanted operator; then
  build "kubecnn/operator:$tag" docker/operator.Dockerfile
  built+=("kubecnn/operator:$tag")
fi
if wanted trainer-cpu; then
  build "kubecnn/trainer:$tag-cpu" docker/trainer.Dockerfile --target cpu
  built+=("kubecnn/trainer:$tag-cpu")
fi
if [ "$cuda" = 1 ]; then
  build "kubecnn/trainer:$tag" docker/trainer.Dockerfile --target cuda
  built+=("kubecnn/trainer:$tag")
fi

echo
printf '%-36s %s\n' IMAGE SIZE
for image in "${built[@]}"; do
  printf '%-36s %s\n' "$image" "$(size "$image")"
done
if [ -n "$push" ]; then
  for image in "${built[@]}"; do
    if [ "$engine" = docker ]; then
      docker tag "$image" "$push/$image" && docker push "$push/$image"
    else
      buildah push "$image" "docker://$push/$image"
    fi
  done
fi

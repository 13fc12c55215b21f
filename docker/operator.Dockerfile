# syntax=docker/dockerfile:1
# kubecnn-operator: the operator binary and exactly the shared libraries it loads, on an empty base
# (distroless-like: no shell, no package manager), running as uid 65532. It writes nothing to its
# root filesystem, so it runs under readOnlyRootFilesystem (manifests/operator/deployment.yaml).
#
#   docker build -f docker/operator.Dockerfile -t kubecnn/operator:0.1.0 .
ARG DEBIAN_IMAGE=debian:bookworm

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libssl-dev libcurl4-openssl-dev prometheus-cpp-dev libmicrohttpd-dev libyaml-cpp-dev nlohmann-json3-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKUBECNN_BUILD_TRAINER=OFF \
      -DKUBECNN_BUILD_TESTS=OFF -DKUBECNN_BUILD_BENCH=OFF \
 && cmake --build /build --target kubecnn-operator \
 && strip /build/operator/kubecnn-operator
RUN sh /src/docker/operator-rootfs.sh /build/operator/kubecnn-operator /rootfs

FROM scratch AS operator
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="kubecnn-operator" \
      org.opencontainers.image.description="Runs kubecnn TrainingJobs (kubecnn.io/v1alpha1) as MPI gangs of pods" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}"
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/kubecnn-operator"]

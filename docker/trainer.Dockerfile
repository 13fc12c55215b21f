# syntax=docker/dockerfile:1
# kubecnn-trainer image, two flavours from one file:
#   --target cpu   CPU LibTorch only, on Debian slim: small clusters, CI, the end-to-end suite
#   (default)      CUDA: the CUDA build of LibTorch with NCCL and cuDNN, on NVIDIA's CUDA runtime
#
#   docker build -f docker/trainer.Dockerfile --target cpu -t kubecnn/trainer:0.1.0-cpu .
#   docker build -f docker/trainer.Dockerfile -t kubecnn/trainer:0.1.0 .
#
# Both hold what runs and nothing else: kubecnn-trainer, the shared libraries it loads (staged by
# docker/stage-libs.sh, not the Python wheel), OpenMPI, the OpenSSH server and client, and a user
# with uid 1000. The operator gives the image two roles through `command`: workers run
# `/usr/sbin/sshd -D -e -f /etc/kubecnn/sshd_config`, the launcher `/bin/sh -c <wrapper> mpirun ...`;
# without a command the image is the trainer itself (`docker run IMAGE --model=resnet50 ...`).
ARG DEBIAN_IMAGE=debian:bookworm
ARG DEBIAN_SLIM_IMAGE=debian:bookworm-slim
# CUDA 13.0 as the torch wheel (cu130). The runtime needs only NVIDIA's base flavour: cuBLAS,
# cuDNN, NCCL and the rest come staged from the wheel, the versions torch was built and tested
# with; the cudnn-runtime flavour would add a second, different set (~2 GB) that nothing loads.
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:13.0.2-cudnn-devel-ubuntu24.04
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:13.0.2-base-ubuntu24.04
ARG TORCH_VERSION=2.11.0
# The two CUDA runtime libraries that libtorch_cpu.so links (versions as torch 2.11.0 pins them).
ARG CUDA_RUNTIME_WHEEL=nvidia-cuda-runtime==13.0.96
ARG CUPTI_WHEEL=nvidia-cuda-cupti==13.0.85

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build-cpu
ARG TORCH_VERSION
ARG CUDA_RUNTIME_WHEEL
ARG CUPTI_WHEEL
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates python3-venv binutils \
      libopenmpi-dev openmpi-bin libprotobuf-dev protobuf-compiler libturbojpeg0-dev libjpeg-dev \
      prometheus-cpp-dev libmicrohttpd-dev nlohmann-json3-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
# Only the wheel (no Python dependencies, no cuBLAS/cuDNN/NCCL wheels): the CPU build links
# libtorch_cpu and libc10 alone (-DKUBECNN_TORCH_CPU_ONLY=ON).
COPY docker/extra-ca/ /usr/local/share/ca-certificates/
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN update-ca-certificates \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps "torch==${TORCH_VERSION}" "${CUDA_RUNTIME_WHEEL}" "${CUPTI_WHEEL}"
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKUBECNN_PYTHON=/opt/venv/bin/python3 \
      -DKUBECNN_TORCH_CPU_ONLY=ON -DKUBECNN_BUILD_OPERATOR=OFF -DKUBECNN_BUILD_TESTS=OFF -DKUBECNN_BUILD_BENCH=OFF \
 && cmake --build /build --target kubecnn-trainer \
 && install -D -m 0755 /build/trainer/kubecnn-trainer /opt/kubecnn/bin/kubecnn-trainer \
 && strip /opt/kubecnn/bin/kubecnn-trainer \
 && sh /src/docker/stage-libs.sh --all-but-libc /opt/kubecnn/lib /opt/kubecnn/bin/kubecnn-trainer

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_SLIM_IMAGE} AS cpu
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="kubecnn-trainer (CPU)" \
      org.opencontainers.image.description="kubecnn-trainer with CPU LibTorch, OpenMPI and OpenSSH for kubecnn TrainingJobs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openssh-server openssh-client openmpi-bin ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-cpu /opt/kubecnn /opt/kubecnn
COPY docker/trainer-runtime.sh /tmp/trainer-runtime.sh
RUN sh /tmp/trainer-runtime.sh && rm /tmp/trainer-runtime.sh
USER 1000
WORKDIR /tmp
ENTRYPOINT ["kubecnn-trainer"]
CMD ["--help"]

# ---------------------------------------------------------------------------------------------
FROM ${CUDA_DEVEL_IMAGE} AS build-cuda
ARG TORCH_VERSION
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates python3-venv binutils \
      libopenmpi-dev openmpi-bin libprotobuf-dev protobuf-compiler libturbojpeg0-dev libjpeg-dev \
      prometheus-cpp-dev libmicrohttpd-dev nlohmann-json3-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY docker/extra-ca/ /usr/local/share/ca-certificates/
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN update-ca-certificates \
 && python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir "torch==${TORCH_VERSION}"
COPY . /src
# cuDNN loads its engine libraries and NVRTC its builtins with dlopen, which ldd cannot see: those
# two families are staged whole.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKUBECNN_PYTHON=/opt/venv/bin/python3 \
      -DKUBECNN_WITH_CUDA=ON -DKUBECNN_BUILD_OPERATOR=OFF -DKUBECNN_BUILD_TESTS=OFF -DKUBECNN_BUILD_BENCH=OFF \
 && cmake --build /build --target kubecnn-trainer \
 && install -D -m 0755 /build/trainer/kubecnn-trainer /opt/kubecnn/bin/kubecnn-trainer \
 && strip /opt/kubecnn/bin/kubecnn-trainer \
 && sh /src/docker/stage-libs.sh --all-but-libc /opt/kubecnn/lib /opt/kubecnn/bin/kubecnn-trainer \
 && site=$(/opt/venv/bin/python3 -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])') \
 && cp -L "$site"/nvidia/cudnn/lib/libcudnn*.so.* /opt/kubecnn/lib/ \
 && cp -L "$site"/nvidia/cu13/lib/libnvrtc*.so* /opt/kubecnn/lib/

# ---------------------------------------------------------------------------------------------
FROM ${CUDA_RUNTIME_IMAGE} AS cuda
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="kubecnn-trainer" \
      org.opencontainers.image.description="kubecnn-trainer with CUDA LibTorch, NCCL, cuDNN, OpenMPI and OpenSSH for kubecnn TrainingJobs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openssh-server openssh-client openmpi-bin ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-cuda /opt/kubecnn /opt/kubecnn
COPY docker/trainer-runtime.sh /tmp/trainer-runtime.sh
RUN sh /tmp/trainer-runtime.sh && rm /tmp/trainer-runtime.sh
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 1000
WORKDIR /tmp
ENTRYPOINT ["kubecnn-trainer"]
CMD ["--help"]

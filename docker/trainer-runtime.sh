#!/bin/sh
# Final set-up of a trainer image's runtime stage (CPU or CUDA), run as root in the image:
# everything manifests/README.md's "Contract with the image" asks for.
set -eu

# The staged libraries for every process, including ranks that orted starts over ssh (sshd gives
# them a clean environment, so LD_LIBRARY_PATH would not reach them).
echo /opt/kubecnn/lib >/etc/ld.so.conf.d/0-kubecnn.conf
ldconfig
ln -sf /opt/kubecnn/bin/kubecnn-trainer /usr/local/bin/kubecnn-trainer

# The user the operator runs both roles as (runAsUser 1000). NVIDIA's Ubuntu images already have
# one (ubuntu); any user with uid 1000 serves.
if ! getent passwd 1000 >/dev/null; then
  getent group 1000 >/dev/null || groupadd -g 1000 kubecnn
  useradd -u 1000 -g 1000 -m -s /bin/bash kubecnn
fi

# sshd runs with the job's key from its Secret; keys baked into the image would be shared by every
# user of it.
rm -f /etc/ssh/ssh_host_*

# OpenMPI in a container: no CAP_SYS_PTRACE, so no cross-memory attach between local ranks. Set
# here, not in ENV, because orted and the ranks start under sshd with a clean environment.
mca=/etc/openmpi/openmpi-mca-params.conf
mkdir -p "$(dirname "$mca")"
echo "btl_vader_single_copy_mechanism = none" >>"$mca"

# Fail the build, not the first job, when a library is missing.
for tool in /usr/sbin/sshd ssh mpirun getent ls cp cat tee grep stat date; do
  command -v "$tool" >/dev/null || { echo "trainer-runtime: $tool is missing" >&2; exit 1; }
done
kubecnn-trainer --list_models >/dev/null

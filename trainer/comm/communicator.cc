// The one place that picks a Communicator implementation, and helpers built on the interface.
#include "trainer/comm/communicator.h"

#include <cstdio>
#include <cstdlib>

#include "trainer/comm/rendezvous.h"
#include "trainer/comm/single_communicator.h"
#if KUBECNN_WITH_MPI
#include "trainer/comm/mpi_communicator.h"
#endif
#if KUBECNN_WITH_NCCL
#include "trainer/comm/nccl_communicator.h"
#endif

namespace kubecnn::comm {

void SingleCommunicator::AbortJob(int exit_code) {
  std::fflush(nullptr);
  std::_Exit(exit_code);
}

std::unique_ptr<Communicator> CreateCommunicator(const Placement& placement, const torch::Device& device,
                                                 const CommOptions& options) {
  if (placement.world_size == 1 && !(options.nccl_for_one_gpu && device.is_cuda())) {
    return std::make_unique<SingleCommunicator>(device);
  }
  const std::string where =
      std::to_string(placement.world_size) + " ranks started by " + LauncherName(placement.launcher);
  if (device.is_cuda()) {
#if KUBECNN_WITH_NCCL
    std::function<void(std::string&)> share;
    if (placement.world_size == 1) {
      share = [](std::string&) {};  // nobody to tell the unique id
    } else if (placement.launcher == Launcher::kMpi) {
#if KUBECNN_WITH_MPI
      share = [](std::string& id) { MpiBroadcastBytes(id); };
#else
      throw CommError(where +
                      ", but this build has no MPI: start the ranks with KUBECNN_RANK/KUBECNN_WORLD_SIZE/"
                      "KUBECNN_MASTER_ADDR instead");
#endif
    } else {
      share = [placement, options](std::string& id) { RendezvousBroadcast(placement, id, options.timeout); };
    }
    return CreateNcclCommunicator(placement, device, options, share);
#else
    throw CommError(where + " on GPUs, but this build has no NCCL (rebuild against a CUDA LibTorch with NCCL)");
#endif
  }
  if (placement.launcher == Launcher::kMpi) {
#if KUBECNN_WITH_MPI
    return CreateMpiCommunicator(options);
#else
    throw CommError(where + " on CPUs, but this build has no MPI (install libopenmpi-dev and rebuild)");
#endif
  }
  throw CommError(where + " on CPUs: CPU tensors travel over MPI, so start the job with mpirun (or use GPUs)");
}

void BroadcastBytes(Communicator& comm, std::string& bytes, int root) {
  if (comm.world_size() == 1) return;
  const auto on_device = torch::TensorOptions().device(comm.device());
  torch::Tensor size =
      torch::tensor({static_cast<int64_t>(bytes.size())}, torch::TensorOptions().dtype(torch::kInt64)).to(on_device);
  comm.Broadcast(size, root);
  const int64_t n = size.cpu().item<int64_t>();
  torch::Tensor data = torch::empty({n}, torch::TensorOptions().dtype(torch::kUInt8));
  if (comm.rank() == root) std::memcpy(data.data_ptr(), bytes.data(), bytes.size());
  data = data.to(on_device);
  comm.Broadcast(data, root);
  data = data.cpu();
  bytes.assign(static_cast<const char*>(data.data_ptr()), static_cast<size_t>(n));
}

}  // namespace kubecnn::comm

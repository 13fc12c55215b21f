// Collectives over NCCL for CUDA tensors, on the communicator's own stream, with timeouts.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "trainer/comm/communicator.h"

namespace kubecnn::comm {

// `share_id` hands rank 0's bytes (the NCCL unique id) to every rank: MPI_Bcast under mpirun, the
// TCP rendezvous otherwise.
std::unique_ptr<Communicator> CreateNcclCommunicator(const Placement& placement, const torch::Device& device,
                                                     const CommOptions& options,
                                                     const std::function<void(std::string&)>& share_id);

}  // namespace kubecnn::comm

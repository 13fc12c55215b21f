// Collectives over MPI for CPU tensors (mpirun), with timeouts that name the missing ranks.
#pragma once

#include <memory>

#include "trainer/comm/communicator.h"

namespace kubecnn::comm {

// Initialises MPI (MPI_THREAD_MULTIPLE) on first use; MPI is finalised at process exit.
std::unique_ptr<Communicator> CreateMpiCommunicator(const CommOptions& options);

// Rank 0's bytes to every rank over MPI_COMM_WORLD (the NCCL unique id under mpirun).
void MpiBroadcastBytes(std::string& bytes);

}  // namespace kubecnn::comm

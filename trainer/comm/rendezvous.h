// The TCP rendezvous of a job started without mpirun: rank 0 listens at KUBECNN_MASTER_ADDR:PORT
// and hands every other rank the same bytes (the NCCL unique id).
#pragma once

#include <chrono>
#include <string>

#include "trainer/comm/placement.h"

namespace kubecnn::comm {

// Rank 0 sends `bytes` to ranks 1..world-1; the others replace `bytes` with what rank 0 sent.
// Throws CommError when the peers do not all show up within `timeout`, naming the missing ranks.
void RendezvousBroadcast(const Placement& placement, std::string& bytes, std::chrono::seconds timeout);

}  // namespace kubecnn::comm

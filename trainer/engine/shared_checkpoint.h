// Checkpoints read by rank 0 alone and handed to every rank, so only rank 0 needs the files.
#pragma once

#include <optional>
#include <string>

#include "trainer/checkpoint/checkpoint.h"
#include "trainer/comm/communicator.h"

namespace kubecnn::engine {

struct SharedCheckpoint {
  std::string path;
  checkpoint::Checkpoint value;
};

// Rank 0 reads `path`, or the newest checkpoint in `log_dir` when `path` is empty, and broadcasts
// it. nullopt on every rank when there is none. A read error on rank 0 throws the same
// CheckpointError on every rank (none is left waiting).
std::optional<SharedCheckpoint> LoadCheckpointOnRank0(comm::Communicator& comm, const std::string& path,
                                                      const std::string& log_dir);

}  // namespace kubecnn::engine

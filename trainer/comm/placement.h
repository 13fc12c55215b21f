// Where this process sits in the job: rank, world size and local rank, from OpenMPI's environment
// or from KUBECNN_* variables when started without mpirun.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace kubecnn::comm {

enum class Launcher {
  kNone,  // a lone process: rank 0 of 1
  kMpi,   // started by mpirun (OMPI_COMM_WORLD_*): MPI is the bootstrap and the CPU transport
  kEnv,   // KUBECNN_RANK/KUBECNN_WORLD_SIZE/...: a TCP rendezvous at KUBECNN_MASTER_ADDR
};

struct Placement {
  Launcher launcher = Launcher::kNone;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // picks the GPU on this node
  int local_world_size = 1;  // ranks on this node (shares the CPU cores between them)
  std::string master_addr;   // kEnv only: host of rank 0's rendezvous
  int master_port = 0;       // kEnv only (default 29500)
};

const char* LauncherName(Launcher launcher);

// Reads the placement through `getenv` (std::getenv in production; a table in tests). OpenMPI's
// variables win over KUBECNN_*; inconsistent or partial settings throw std::invalid_argument
// saying which variable is wrong and what it should hold.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
Placement PlacementFromEnvironment(const EnvLookup& getenv);
Placement PlacementFromProcessEnvironment();

}  // namespace kubecnn::comm

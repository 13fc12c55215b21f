// The command line a user runs on one machine (what follows `kubectl kubecnn run NAME ... --`):
// kubecnn-trainer's flags, or the seed's `mpiexec -np 8 python nvcnn_hvd.py --model=...`, split into
// the rank count and the trainer's flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kubecnn::plugin {

struct TrainerCommand {
  std::optional<int64_t> ranks;           // mpiexec/mpirun -np N
  std::vector<std::string> trainer_args;  // the flags kubecnn-trainer train gets
};

// Accepts, optionally after `mpiexec|mpirun [options] -np N`: `--model=... ...` (flags alone),
// `[path/]kubecnn-trainer [train] --...` and `python[3[.x]] [path/]nvcnn_hvd.py --...`. mpirun's
// placement options (--host, --hostfile, --map-by, --bind-to, ...) are dropped: the operator places
// the ranks. Throws UsageError naming what it cannot carry to the cluster and what to do instead.
TrainerCommand ParseTrainerCommand(const std::vector<std::string>& words);

}  // namespace kubecnn::plugin

// The checkpoint file: a versioned, CRC-checked envelope around a pickled dict (torch.save's
// format), written atomically so a crash mid-save never damages the last good checkpoint.
//
// Layout: "KUBECNN-CKPT" magic (12 bytes), uint32 format version, uint64 payload length, payload
// (torch::pickle_save of the dict; Python can torch.load it after skipping the 24-byte header),
// uint32 masked CRC32C of the payload. All integers little-endian.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "trainer/common/errors.h"

namespace kubecnn::checkpoint {

inline constexpr uint32_t kFormatVersion = 1;

// What must agree between the run that saved a checkpoint and the run that resumes from it.
struct RunConfig {
  std::string model;
  int64_t num_classes = 0;
  int64_t image_size = 0;
  int64_t world_size = 1;
  int64_t batch_size = 0;  // per rank
  bool operator==(const RunConfig&) const = default;
};

struct Checkpoint {
  RunConfig config;
  int64_t step = 0;                                // optimizer steps taken
  int64_t epoch = 0;                               // epoch of the next sample to read
  int64_t data_position = 0;                       // samples of this rank's stream consumed (the loader resumes here)
  std::map<std::string, torch::Tensor> model;      // state_dict: parameters and buffers
  std::map<std::string, torch::Tensor> optimizer;  // e.g. momentum buffers, by parameter name
  std::map<std::string, double> scalars;           // loss scaler state and other small numbers
  torch::Tensor rng_state;                         // the CPU generator's state
  std::string command_line;                        // for humans reading an old checkpoint
};

// Raised for unreadable, corrupt or incompatible checkpoints; the message says which and what to do.
class CheckpointError : public PermanentError {
 public:
  using PermanentError::PermanentError;
};

// Writes atomically through the storage layer: "<path>.partial", fsync, rename for a file; one
// PUT or a completed multipart upload for an s3:// object. Never visible half-written.
void SaveCheckpoint(const std::string& path, const Checkpoint& checkpoint);
// Reads and checks magic, version, length and CRC. Tensors come back on the CPU.
Checkpoint LoadCheckpoint(const std::string& path);
// The same in two halves: rank 0 reads the file, every rank parses the bytes it broadcast.
std::string ReadCheckpointFile(const std::string& path);
Checkpoint ParseCheckpoint(const std::string& bytes, const std::string& path);

// Empty when `saved` can be resumed under `current`, else what differs, e.g.
// "it was saved by model resnet50, this run is resnet18".
std::string Incompatibility(const RunConfig& saved, const RunConfig& current);

}  // namespace kubecnn::checkpoint

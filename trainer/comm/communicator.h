// Collectives between the ranks of a job behind one interface: single-process, MPI (CPU tensors)
// and NCCL (GPU tensors) implementations, chosen by one factory.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "trainer/comm/placement.h"

namespace kubecnn::comm {

enum class ReduceOp { kSum, kAverage };

// A collective failed or did not finish in time: a peer died, hung or the network broke. Not a
// PermanentError: restarting the gang from the last checkpoint is the way out.
class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommOptions {
  std::chrono::seconds timeout{300};  // --collective_timeout: longest wait for any collective
  // --force_gradient_sync: a world of one GPU still gets NCCL (to measure what it costs).
  bool nccl_for_one_gpu = false;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string name() const = 0;      // "single", "mpi", "nccl"
  virtual torch::Device device() const = 0;  // where the tensors handed to collectives live

  // Every rank calls the collectives in the same order with tensors of the same shape and dtype.
  // Each works in place on a contiguous tensor on device() and returns once the result is there;
  // a failure or a timeout throws CommError naming the ranks that did not arrive, when known.
  // `ready`, when given, marks where the caller's queued device work finished writing `tensor`
  // (see RecordReady); without it the collective waits for the caller's current stream.
  virtual void AllReduce(torch::Tensor& tensor, ReduceOp op, const std::optional<c10::Event>& ready) = 0;
  void AllReduce(torch::Tensor& tensor, ReduceOp op) { AllReduce(tensor, op, std::nullopt); }
  virtual void Broadcast(torch::Tensor& tensor, int root) = 0;
  virtual void Barrier() = 0;

  // A marker of the device work queued so far on the calling thread's stream (CUDA); none on CPU.
  virtual std::optional<c10::Event> RecordReady() { return std::nullopt; }

  // Gives up on the job after a CommError: stops every rank (MPI_Abort under mpirun; NCCL
  // communicators aborted) so none is left hanging. Does not return.
  [[noreturn]] virtual void AbortJob(int exit_code) = 0;
};

// The communicator for this placement and device: single-process for a world of one, NCCL for
// CUDA devices, MPI for CPU tensors under mpirun. Throws CommError when nothing fits, saying why
// (e.g. CPU training across ranks without mpirun, or a build without NCCL).
std::unique_ptr<Communicator> CreateCommunicator(const Placement& placement, const torch::Device& device,
                                                 const CommOptions& options);

// Copies rank `root`'s bytes to every rank (sizes may differ before the call).
void BroadcastBytes(Communicator& comm, std::string& bytes, int root);

}  // namespace kubecnn::comm

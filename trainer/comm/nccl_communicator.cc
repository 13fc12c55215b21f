// NCCL collectives: enqueued on a dedicated stream after the caller's work, then polled against
// the deadline; a timeout or an asynchronous NCCL error aborts the communicator, never hangs.
#include "trainer/comm/nccl_communicator.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <cstdlib>
#include <thread>

namespace kubecnn::comm {
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t NcclType(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kHalf: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt64: return ncclInt64;
    case torch::kInt32: return ncclInt32;
    case torch::kUInt8: return ncclUint8;
    default: throw CommError(std::string("NCCL collectives do not handle ") + c10::toString(dtype) + " tensors");
  }
}

void CheckNccl(ncclResult_t result, const std::string& what) {
  if (result != ncclSuccess && result != ncclInProgress) {
    throw CommError("NCCL " + what + ": " + ncclGetErrorString(result) + " (" + ncclGetLastError(nullptr) + ")");
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const Placement& placement, const torch::Device& device, const CommOptions& options,
                   const std::function<void(std::string&)>& share_id)
      : options_(options),
        rank_(placement.rank),
        world_(placement.world_size),
        device_(device),
        stream_(at::cuda::getStreamFromPool(/*isHighPriority=*/true, device.index())) {
    c10::cuda::CUDAGuard guard(device_);
    std::string id(sizeof(ncclUniqueId), '\0');
    if (rank_ == 0) {
      ncclUniqueId unique{};
      CheckNccl(ncclGetUniqueId(&unique), "creating the unique id");
      std::memcpy(id.data(), &unique, sizeof unique);
    }
    share_id(id);
    if (id.size() != sizeof(ncclUniqueId)) throw CommError("NCCL unique id from rank 0 has the wrong size");
    ncclUniqueId unique{};
    std::memcpy(&unique, id.data(), sizeof unique);
    CheckNccl(ncclCommInitRank(&comm_, world_, unique, rank_),
              "joining the communicator of " + std::to_string(world_) + " ranks as rank " + std::to_string(rank_));
  }

  ~NcclCommunicator() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string name() const override { return "nccl"; }
  torch::Device device() const override { return device_; }

  std::optional<c10::Event> RecordReady() override {
    c10::Event event(c10::DeviceType::CUDA);
    event.record(at::cuda::getCurrentCUDAStream(device_.index()));
    return event;
  }

  void AllReduce(torch::Tensor& tensor, ReduceOp op, const std::optional<c10::Event>& ready) override {
    Check(tensor);
    Run("all-reduce", ready, [&] {
      return ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                           NcclType(tensor.scalar_type()), op == ReduceOp::kAverage ? ncclAvg : ncclSum, comm_,
                           stream_.stream());
    });
    tensor.record_stream(stream_);
  }

  void Broadcast(torch::Tensor& tensor, int root) override {
    Check(tensor);
    Run("broadcast", std::nullopt, [&] {
      return ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                           NcclType(tensor.scalar_type()), root, comm_, stream_.stream());
    });
    tensor.record_stream(stream_);
  }

  void Barrier() override {
    torch::Tensor one = torch::ones({1}, torch::TensorOptions().dtype(torch::kInt32).device(device_));
    AllReduce(one, ReduceOp::kSum, std::nullopt);
  }

  [[noreturn]] void AbortJob(int exit_code) override {
    if (comm_ != nullptr) ncclCommAbort(comm_);
    comm_ = nullptr;
    std::fflush(nullptr);
    std::_Exit(exit_code);
  }

 private:
  void Check(const torch::Tensor& tensor) const {
    if (tensor.device() != device_ || !tensor.is_contiguous()) {
      throw CommError("NCCL collectives need a contiguous tensor on " + device_.str() + ", got one on " +
                      tensor.device().str());
    }
  }

  template <typename Launch>
  void Run(const char* what, const std::optional<c10::Event>& ready, Launch launch) {
    c10::cuda::CUDAGuard guard(device_);
    if (ready) {
      ready->block(c10::Stream(stream_));
    } else {
      at::cuda::CUDAEvent caller;
      caller.record(at::cuda::getCurrentCUDAStream(device_.index()));
      caller.block(stream_);
    }
    CheckNccl(launch(), what);
    at::cuda::CUDAEvent done;
    done.record(stream_);
    const auto begin = Clock::now();
    auto pause = std::chrono::microseconds(20);
    while (!done.query()) {
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess && async != ncclInProgress) {
        ncclCommAbort(comm_);
        comm_ = nullptr;
        throw CommError("rank " + std::to_string(rank_) + ": NCCL " + what + " failed: " + ncclGetErrorString(async) +
                        " (a peer died or the network broke; the job stops so it can restart from its checkpoint)");
      }
      if (Clock::now() - begin > options_.timeout) {
        ncclCommAbort(comm_);
        comm_ = nullptr;
        throw CommError("rank " + std::to_string(rank_) + ": NCCL " + what +
                        " did not finish within --collective_timeout=" + std::to_string(options_.timeout.count()) +
                        " s (a peer is hung or dead); communicator aborted so the job can restart from its "
                        "checkpoint");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(500));
    }
  }

  CommOptions options_;
  int rank_;
  int world_;
  torch::Device device_;
  at::cuda::CUDAStream stream_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> CreateNcclCommunicator(const Placement& placement, const torch::Device& device,
                                                     const CommOptions& options,
                                                     const std::function<void(std::string&)>& share_id) {
  return std::make_unique<NcclCommunicator>(placement, device, options, share_id);
}

}  // namespace kubecnn::comm

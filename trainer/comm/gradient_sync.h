// Data-parallel gradient averaging: fusion buckets all-reduced on a background thread while
// backward is still producing the remaining gradients.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "trainer/comm/communicator.h"

namespace kubecnn::comm {

struct GradientSyncOptions {
  int64_t fusion_threshold_bytes = int64_t{64} << 20;  // --fusion_threshold_mb (Horovod's default 64)
  bool compress_fp16 = false;                          // --fp16_allreduce: half the bytes on the wire
  // Buckets get no larger than 1/min_buckets of the model's gradients, so that all but the last
  // can be reduced while backward still runs (see PlanBuckets).
  int min_buckets = 4;
};

struct GradientSyncStats {
  double allreduce_seconds = 0;  // spent inside all-reduces (on the communication thread)
  double exposed_seconds = 0;    // the training thread waited in Finish(): what backward did not hide
  int64_t bytes = 0;             // sent per rank
};

// Registers a post-accumulate hook on every parameter that requires a gradient. When all
// gradients of a bucket exist, the bucket is packed and handed to the communication thread;
// buckets start in a fixed order (the same on every rank). Finish() waits for the rest and writes
// the averages into each parameter's .grad.
class GradientAllReducer {
 public:
  GradientAllReducer(Communicator& comm, const std::vector<torch::Tensor>& params, GradientSyncOptions options);
  ~GradientAllReducer();
  GradientAllReducer(const GradientAllReducer&) = delete;
  GradientAllReducer& operator=(const GradientAllReducer&) = delete;

  // Call instead of the optimizer's ZeroGrad: zeroes the buckets and makes each .grad a view into
  // its bucket, so backward accumulates straight into the buffer that travels (no packing copy,
  // and the averages land in .grad in place). With --fp16_allreduce the gradients stay separate
  // and are copied in and out. Gradients reset some other way still work, through a copy.
  void ZeroGradients();
  // Call after backward: launches buckets whose gradients never came (zeros, so every rank sends
  // the same), waits for all, writes averaged gradients back. Rethrows a CommError.
  void Finish();
  const GradientSyncStats& last_step() const { return last_; }
  size_t num_buckets() const { return buckets_.size(); }

  void OnGradient(size_t param);  // called by the hooks

 private:
  struct Bucket {
    std::vector<size_t> members;
    std::vector<int64_t> offsets;    // element offsets of the members in `flat`
    std::vector<bool> had_gradient;  // this step, on this rank
    bool views = false;              // .grad of each member is a view into `flat` (same dtype)
    torch::Tensor flat;
    int pending = 0;  // gradients still to come this step
    bool packed = false;
    bool done = false;
    std::optional<c10::Event> ready;
  };

  void Pack(Bucket& bucket);
  void Unpack(const Bucket& bucket);
  void QueuePackedLocked();
  void CommLoop();

  Communicator& comm_;
  std::vector<torch::Tensor> params_;
  GradientSyncOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // parameter -> bucket
  std::vector<size_t> slot_of_;    // parameter -> its index among the bucket's members

  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_to_queue_ = 0;  // buckets start strictly in index order
  std::deque<size_t> queue_;
  size_t done_count_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
  double allreduce_seconds_ = 0;
  GradientSyncStats last_;
  std::thread thread_;
};

}  // namespace kubecnn::comm

// GradientAllReducer: hooks pack ready buckets; one thread runs their all-reduces in order.
#include "trainer/comm/gradient_sync.h"

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>

#include "trainer/comm/bucket_plan.h"

namespace kubecnn::comm {
namespace {

using Clock = std::chrono::steady_clock;

class ReadyHook final : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(GradientAllReducer* reducer, size_t index) : reducer_(reducer), index_(index) {}
  void operator()(const torch::autograd::Variable&) override { reducer_->OnGradient(index_); }

 private:
  GradientAllReducer* reducer_;
  size_t index_;
};

}  // namespace

GradientAllReducer::GradientAllReducer(Communicator& comm, const std::vector<torch::Tensor>& params,
                                       GradientSyncOptions options)
    : comm_(comm), options_(options) {
  for (const torch::Tensor& p : params) {
    if (p.requires_grad()) params_.push_back(p);
  }
  // Backward produces the last layers' gradients first: bucket in reverse registration order.
  std::vector<size_t> order(params_.size());
  std::vector<GradientInfo> infos;
  for (size_t k = 0; k < params_.size(); ++k) {
    order[k] = params_.size() - 1 - k;
    const torch::Tensor& p = params_[order[k]];
    const torch::ScalarType wire = options_.compress_fp16 && p.is_floating_point() ? torch::kHalf : p.scalar_type();
    infos.push_back({p.numel() * static_cast<int64_t>(c10::elementSize(wire)), static_cast<int>(wire)});
  }
  bucket_of_.resize(params_.size());
  for (const std::vector<size_t>& planned : PlanBuckets(infos, options_.fusion_threshold_bytes)) {
    Bucket b;
    int64_t numel = 0;
    for (size_t k : planned) {
      const size_t i = order[k];
      b.members.push_back(i);
      b.offsets.push_back(numel);
      b.had_gradient.push_back(false);
      numel += params_[i].numel();
      bucket_of_[i] = buckets_.size();
    }
    const auto dtype = static_cast<torch::ScalarType>(infos[planned.front()].dtype);
    b.flat = torch::zeros({numel}, torch::TensorOptions().dtype(dtype).device(comm_.device()));
    b.pending = static_cast<int>(b.members.size());
    buckets_.push_back(std::move(b));
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::autograd::impl::set_post_acc_grad_hooks(params_[i], std::make_unique<ReadyHook>(this, i));
  }
  thread_ = std::thread([this] { CommLoop(); });
}

GradientAllReducer::~GradientAllReducer() {
  for (const torch::Tensor& p : params_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void GradientAllReducer::Pack(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < bucket.members.size(); ++k) {
    const torch::Tensor& p = params_[bucket.members[k]];
    torch::Tensor slot = bucket.flat.narrow(0, bucket.offsets[k], p.numel());
    bucket.had_gradient[k] = p.grad().defined();
    if (p.grad().defined()) {
      slot.copy_(p.grad().reshape({-1}));
    } else {
      slot.zero_();  // no gradient this step: contribute zeros, as every rank does the same
    }
  }
  bucket.ready = comm_.RecordReady();
  bucket.packed = true;
}

void GradientAllReducer::QueuePackedLocked() {
  bool queued = false;
  while (next_to_queue_ < buckets_.size() && buckets_[next_to_queue_].packed) {
    queue_.push_back(next_to_queue_++);
    queued = true;
  }
  if (queued) cv_.notify_all();
}

void GradientAllReducer::OnGradient(size_t param) {
  Bucket& bucket = buckets_[bucket_of_[param]];
  std::lock_guard<std::mutex> lock(mu_);
  if (--bucket.pending > 0) return;
  Pack(bucket);
  QueuePackedLocked();
}

void GradientAllReducer::CommLoop() {
  while (true) {
    size_t index = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      index = queue_.front();
      queue_.pop_front();
    }
    Bucket& bucket = buckets_[index];
    const auto start = Clock::now();
    std::exception_ptr error;
    try {
      comm_.AllReduce(bucket.flat, ReduceOp::kAverage, bucket.ready);
    } catch (...) {
      error = std::current_exception();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    {
      std::lock_guard<std::mutex> lock(mu_);
      allreduce_seconds_ += seconds;
      bucket.done = true;
      ++done_count_;
      if (error && !error_) error_ = error;
    }
    cv_.notify_all();
  }
}

void GradientAllReducer::Finish() {
  const auto start = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  for (Bucket& bucket : buckets_) {
    if (!bucket.packed) Pack(bucket);
  }
  QueuePackedLocked();
  cv_.wait(lock, [&] { return done_count_ == buckets_.size(); });
  std::exception_ptr error = error_;
  last_ = {};
  last_.allreduce_seconds = allreduce_seconds_;
  allreduce_seconds_ = 0;
  next_to_queue_ = 0;
  done_count_ = 0;
  for (Bucket& bucket : buckets_) {
    bucket.pending = static_cast<int>(bucket.members.size());
    bucket.packed = bucket.done = false;
    bucket.ready.reset();
    last_.bytes += bucket.flat.numel() * static_cast<int64_t>(bucket.flat.element_size());
  }
  lock.unlock();
  if (error) std::rethrow_exception(error);

  torch::NoGradGuard no_grad;
  for (const Bucket& bucket : buckets_) {
    for (size_t k = 0; k < bucket.members.size(); ++k) {
      torch::Tensor p = params_[bucket.members[k]];
      const torch::Tensor averaged = bucket.flat.narrow(0, bucket.offsets[k], p.numel()).view(p.sizes());
      if (bucket.had_gradient[k]) {
        p.mutable_grad().copy_(averaged);
      } else if (averaged.any().item<bool>()) {  // another rank had one
        p.mutable_grad() = averaged.to(p.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
      }  // no rank had a gradient: leave none, as one process would (the optimizer skips it)
    }
  }
  last_.exposed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace kubecnn::comm

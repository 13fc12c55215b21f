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

// A member's slot in its bucket, laid out as the parameter is (a channels_last weight gets a
// channels_last gradient): the fused optimizers refuse a gradient whose strides differ from its
// parameter's. A dense parameter in any dimension order fills exactly numel() elements.
torch::Tensor SlotFor(const torch::Tensor& flat, int64_t offset, const torch::Tensor& param) {
  torch::Tensor slot = flat.narrow(0, offset, param.numel());
  if (param.is_non_overlapping_and_dense()) return slot.as_strided(param.sizes(), param.strides());
  return slot.view(param.sizes());
}

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
  slot_of_.resize(params_.size());
  for (const std::vector<size_t>& planned : PlanBuckets(infos, options_.fusion_threshold_bytes, options_.min_buckets)) {
    Bucket b;
    int64_t numel = 0;
    for (size_t k : planned) {
      const size_t i = order[k];
      b.members.push_back(i);
      b.offsets.push_back(numel);
      b.had_gradient.push_back(false);
      slot_of_[i] = b.members.size() - 1;
      numel += params_[i].numel();
      bucket_of_[i] = buckets_.size();
    }
    const auto dtype = static_cast<torch::ScalarType>(infos[planned.front()].dtype);
    b.flat = torch::zeros({numel}, torch::TensorOptions().dtype(dtype).device(comm_.device()));
    b.pending = static_cast<int>(b.members.size());
    b.views = true;
    for (size_t i : b.members) b.views = b.views && params_[i].scalar_type() == dtype;
    buckets_.push_back(std::move(b));
  }
  ZeroGradients();
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

void GradientAllReducer::ZeroGradients() {
  torch::NoGradGuard no_grad;
  std::lock_guard<std::mutex> lock(mu_);
  for (Bucket& bucket : buckets_) {
    bucket.flat.zero_();
    for (size_t k = 0; k < bucket.members.size(); ++k) {
      torch::Tensor p = params_[bucket.members[k]];
      if (bucket.views) {
        p.mutable_grad() = SlotFor(bucket.flat, bucket.offsets[k], p);
      } else {
        p.mutable_grad().reset();
      }
      bucket.had_gradient[k] = false;
    }
  }
}

void GradientAllReducer::Pack(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < bucket.members.size(); ++k) {
    const torch::Tensor& p = params_[bucket.members[k]];
    torch::Tensor slot = SlotFor(bucket.flat, bucket.offsets[k], p);
    const torch::Tensor& grad = p.grad();
    if (grad.defined() && grad.data_ptr() == slot.data_ptr()) continue;  // a view: already in place
    if (grad.defined()) {
      slot.copy_(grad);
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
  bucket.had_gradient[slot_of_[param]] = true;
  if (--bucket.pending > 0) return;
  Pack(bucket);
  QueuePackedLocked();
}

// Writes the averages into .grad. Runs on the communication thread as soon as a bucket is reduced
// (overlapping the next bucket's all-reduce): its gradients are final once it was packed.
void GradientAllReducer::Unpack(const Bucket& bucket) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < bucket.members.size(); ++k) {
    torch::Tensor p = params_[bucket.members[k]];
    const torch::Tensor averaged = SlotFor(bucket.flat, bucket.offsets[k], p);
    const bool in_place = p.grad().defined() && p.grad().data_ptr() == averaged.data_ptr();
    if (!bucket.had_gradient[k] && !averaged.any().item<bool>()) {
      p.mutable_grad().reset();  // no rank had a gradient: none, as one process would (the optimizer skips it)
    } else if (!in_place && p.grad().defined()) {
      p.mutable_grad().copy_(averaged);
    } else if (!in_place) {  // another rank had one
      p.mutable_grad() = averaged.to(p.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
    }
  }
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
      Unpack(bucket);
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
    bucket.had_gradient.assign(bucket.members.size(), false);
    last_.bytes += bucket.flat.numel() * static_cast<int64_t>(bucket.flat.element_size());
  }
  lock.unlock();
  if (error) std::rethrow_exception(error);

  last_.exposed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace kubecnn::comm

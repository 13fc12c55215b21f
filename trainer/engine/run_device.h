// Where and in what precision a run computes: the GPU of the local rank with autocast, or the CPU.
#pragma once

#include <torch/torch.h>

#include "trainer/engine/train_config.h"

namespace kubecnn::engine {

struct RunDevice {
  torch::Device device = torch::kCPU;
  Precision precision = Precision::kFp32;
  bool channels_last = false;
};

// CUDA device `local_rank` when CUDA is there, else the CPU. On the CPU --fp16/--bf16 and
// channels_last are dropped with a logged warning (nvcnn likewise ignored --fp16 for eval), so the
// same command line runs everywhere; on CUDA cuDNN autotuning follows --cudnn_benchmark.
RunDevice ChooseRunDevice(const TrainConfig& config, int local_rank);

// Autocast to fp16/bf16 on CUDA for the lifetime of the scope (a no-op in fp32); parameters stay
// fp32, which are the optimizer's master weights.
class AutocastScope {
 public:
  explicit AutocastScope(const RunDevice& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
};

}  // namespace kubecnn::engine

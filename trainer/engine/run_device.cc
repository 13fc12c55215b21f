// Device choice and the autocast scope.
#include "trainer/engine/run_device.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "trainer/common/log.h"
#include "trainer/engine/host_memory.h"

namespace kubecnn::engine {

RunDevice ChooseRunDevice(const TrainConfig& config, int local_rank) {
  RunDevice run;
  const Precision wanted = config.precision;
  if (torch::cuda::is_available()) {
    const int count = static_cast<int>(torch::cuda::device_count());
    if (local_rank >= count) {
      throw std::runtime_error("local rank " + std::to_string(local_rank) + " has no GPU: this node has " +
                               std::to_string(count) + " (start at most as many ranks per node as GPUs)");
    }
    run.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
    run.precision = wanted;
    run.channels_last = config.channels_last;
    at::globalContext().setBenchmarkCuDNN(config.cudnn_benchmark);
    return run;
  }
  if (RetainFreedHostMemory()) LogInfo("device", "CPU run: freed host memory is kept for reuse (see host_memory.h)");
  // Ranks on one node share its cores: split them unless the user said otherwise (OMP_NUM_THREADS).
  const int local_world = config.placement.local_world_size;
  if (local_world > 1 && std::getenv("OMP_NUM_THREADS") == nullptr) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    torch::set_num_threads(std::max(1, cores / local_world));
  }
  if (wanted != Precision::kFp32) {
    const char* flag = wanted == Precision::kFp16 ? "--fp16" : "--bf16";
    LogWarning("device",
               std::string(flag).append(" needs a CUDA GPU and this machine has none: running fp32 on the CPU"));
  }
  return run;  // CPU, fp32, NCHW: channels_last buys nothing in LibTorch's CPU convolutions
}

AutocastScope::AutocastScope(const RunDevice& device) {
  if (device.device.is_cuda() && device.precision != Precision::kFp32) {
    at::autocast::set_autocast_dtype(at::kCUDA, device.precision == Precision::kFp16 ? at::kHalf : at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::increment_nesting();
    active_ = true;
  }
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  at::autocast::set_autocast_enabled(at::kCUDA, false);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace kubecnn::engine

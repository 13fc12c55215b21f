// ToDevice: uint8 upload, then (x/255 - mean)/std as one multiply-add per element on the device.
#include "trainer/data/device_batch.h"

namespace kubecnn::data {
namespace {

// (x/255 - mean)/std == x * scale + shift, per channel, as [1, 3, 1, 1] tensors on the device.
struct NormalizationTensors {
  torch::Device device = torch::kCPU;
  Normalization norm;
  torch::Tensor scale, shift;
};

// Built once per thread and device rather than uploaded every step.
const NormalizationTensors& NormalizationOn(const torch::Device& device, const Normalization& norm) {
  thread_local NormalizationTensors cached;
  if (cached.scale.defined() && cached.device == device && cached.norm.mean == norm.mean &&
      cached.norm.std == norm.std) {
    return cached;
  }
  std::array<float, 3> scale{}, shift{};
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * norm.std[c]);
    shift[c] = -norm.mean[c] / norm.std[c];
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  cached = {device, norm, torch::tensor({scale[0], scale[1], scale[2]}, options).view({1, 3, 1, 1}).to(device),
            torch::tensor({shift[0], shift[1], shift[2]}, options).view({1, 3, 1, 1}).to(device)};
  return cached;
}

}  // namespace

HostAllocator PinnedHostAllocator() {
  if (!torch::cuda::is_available()) return HeapAllocate;
  return [](size_t bytes) {
    // The tensor owns the pinned block (from LibTorch's caching host allocator); the deleter
    // keeps it alive exactly as long as the buffer is referenced.
    auto holder = std::make_shared<torch::Tensor>(
        torch::empty({static_cast<int64_t>(bytes)}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true)));
    return std::shared_ptr<uint8_t>(holder->data_ptr<uint8_t>(), [holder](uint8_t*) mutable { holder.reset(); });
  };
}

DeviceBatch ToDevice(const Batch& batch, const torch::Device& device, torch::ScalarType dtype, bool channels_last,
                     const Normalization& norm) {
  const int64_t n = batch.size;
  const int64_t s = batch.image_size;
  // from_blob does not own the memory; .to() copies before we return.
  auto* pixels = const_cast<uint8_t*>(batch.images.data());
  auto* labels = const_cast<int64_t*>(batch.labels.data());
  torch::Tensor nhwc = torch::from_blob(pixels, {n, s, s, 3}, torch::kUInt8);
  torch::Tensor host_labels = torch::from_blob(labels, {n}, torch::kInt64);

  DeviceBatch out;
  out.labels = host_labels.to(device, /*non_blocking=*/false, /*copy=*/true);
  torch::Tensor nchw = nhwc.to(device, /*non_blocking=*/false, /*copy=*/true).permute({0, 3, 1, 2});
  if (!channels_last) nchw = nchw.contiguous();

  const NormalizationTensors& affine = NormalizationOn(device, norm);
  torch::Tensor normalized = torch::addcmul(affine.shift, nchw.to(torch::kFloat32), affine.scale);
  const auto format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  out.images = normalized.to(dtype).contiguous(format);
  return out;
}

}  // namespace kubecnn::data

// Moving a uint8 batch to the training device and normalising it there, once, in one fused op.
#pragma once

#include <torch/torch.h>

#include <array>

#include "trainer/data/batch.h"

namespace kubecnn::data {

struct Normalization {
  // ImageNet statistics on the 0..1 scale, as torchvision's models expect.
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

struct DeviceBatch {
  torch::Tensor images;  // [size, 3, H, W] float (or dtype), normalised
  torch::Tensor labels;  // [size] int64
};

// Page-locked host memory for the loader's batches when CUDA is available, else plain heap.
HostAllocator PinnedHostAllocator();

// Copies the batch's valid samples to `device` as uint8 (a quarter of the bytes of float), then
// converts and normalises there. channels_last keeps the loader's NHWC memory as is (a free
// permute); otherwise the result is contiguous NCHW. The batch must stay alive until the copy is
// done: with a CUDA device this call synchronises on the copy unless the caller manages streams.
DeviceBatch ToDevice(const Batch& batch, const torch::Device& device, torch::ScalarType dtype, bool channels_last,
                     const Normalization& norm = {});

}  // namespace kubecnn::data

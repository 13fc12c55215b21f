// Device-side normalisation: values, layout (channels_last vs NCHW), dtype, and the valid prefix.
#include "trainer/data/device_batch.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

namespace kubecnn::data {
namespace {

Batch TwoPixelBatch() {
  Batch b;
  b.image_size = 2;
  b.labels = {5, 7, 9};  // capacity 3, only 2 valid
  b.size = 2;
  b.images.resize(3 * 2 * 2 * 3);
  std::memset(b.images.data(), 0, b.images.size());
  for (size_t i = 0; i < b.images.size(); ++i) b.images[i] = static_cast<uint8_t>(i * 7 % 256);
  return b;
}

TEST(DeviceBatch, NormalisesEachChannelWithMeanAndStd) {
  const Batch b = TwoPixelBatch();
  const Normalization norm;
  const DeviceBatch d = ToDevice(b, torch::kCPU, torch::kFloat32, /*channels_last=*/false, norm);
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_TRUE(d.images.is_contiguous());
  for (int n = 0; n < 2; ++n) {
    for (int y = 0; y < 2; ++y) {
      for (int x = 0; x < 2; ++x) {
        for (int c = 0; c < 3; ++c) {
          const float pixel = b.images[((n * 2 + y) * 2 + x) * 3 + c];
          const float expected = (pixel / 255.0f - norm.mean[c]) / norm.std[c];
          EXPECT_NEAR(d.images[n][c][y][x].item<float>(), expected, 1e-5);
        }
      }
    }
  }
  EXPECT_EQ(d.labels.sizes(), (std::vector<int64_t>{2}));
  EXPECT_EQ(d.labels[1].item<int64_t>(), 7);
}

TEST(DeviceBatch, ChannelsLastKeepsTheLoadersNhwcMemory) {
  const DeviceBatch d = ToDevice(TwoPixelBatch(), torch::kCPU, torch::kFloat32, /*channels_last=*/true);
  EXPECT_TRUE(d.images.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const DeviceBatch reference = ToDevice(TwoPixelBatch(), torch::kCPU, torch::kFloat32, false);
  EXPECT_TRUE(torch::allclose(d.images, reference.images));
}

TEST(DeviceBatch, ProducesTheRequestedDtype) {
  const DeviceBatch d = ToDevice(TwoPixelBatch(), torch::kCPU, torch::kBFloat16, true);
  EXPECT_EQ(d.images.scalar_type(), torch::kBFloat16);
}

TEST(DeviceBatch, PinnedAllocatorFallsBackToHeapWithoutCuda) {
  // On a CUDA machine this hands out page-locked memory; either way it must be usable memory.
  HostBuffer buffer(PinnedHostAllocator());
  buffer.resize(1000);
  std::memset(buffer.data(), 7, buffer.size());
  EXPECT_EQ(buffer[999], 7);
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(torch::from_blob(buffer.data(), {1000}, torch::kUInt8).is_pinned());
  }
}

TEST(LibTorchLinking, StdFilesystemResolvesToTheSystemLibstdcxx) {
  // Regression: the torch wheel exports std::filesystem from a static libstdc++, and its
  // remove_all crashed when it won the symbol lookup (see the top-level CMakeLists.txt).
  const auto dir = std::filesystem::temp_directory_path() / "kubecnn-fs-check";
  std::filesystem::create_directories(dir / "a" / "b");
  EXPECT_GE(std::filesystem::remove_all(dir), 3u);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace kubecnn::data

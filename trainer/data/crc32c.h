// CRC32C (Castagnoli) and the masked form that TFRecord framing stores.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kubecnn::data {

// CRC32C of `size` bytes, continuing from `crc` (0 to start). Uses SSE4.2 when the CPU has it.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);
// The table-driven fallback, exposed so tests can check it against the hardware path.
uint32_t Crc32cSoftware(const void* data, size_t size, uint32_t crc = 0);

// TFRecord stores ((crc >> 15) | (crc << 17)) + 0xa282ead8 so that a CRC of data that itself
// holds CRCs stays well distributed.
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace kubecnn::data

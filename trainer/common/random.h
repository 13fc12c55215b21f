// Small deterministic random numbers: a sample's randomness is a pure function of its seed.
#pragma once

#include <cmath>
#include <cstdint>

namespace kubecnn {

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang builtin, outside ISO C++
__extension__ typedef __int128 Int128;

// splitmix64 finaliser: a bijective 64-bit mixer with good avalanche.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Derives an independent seed for a sub-stream (epoch, rank, sample index ...), so that results
// depend on what is being computed, never on which thread computed it or when.
inline uint64_t DeriveSeed(uint64_t seed, uint64_t stream) { return Mix64(seed ^ Mix64(stream)); }

// xoshiro256** seeded through splitmix64; cheap enough to construct per sample.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : state_) {
      seed = Mix64(seed);
      s = seed;
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-64 * n).
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>((static_cast<Uint128>(Next()) * n) >> 64); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace kubecnn

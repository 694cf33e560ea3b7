#pragma once

#include <cstdint>

namespace samri::train {

// Counter-based random numbers: a stream is fixed by a few integers (the seed, the epoch, a
// sample's place in the epoch), never by what another process drew before, so that splitting an
// epoch over ranks, or resuming it in the middle, draws the same numbers. SplitMix64 steps, which
// are defined bit for bit on every platform (unlike std:: distributions).
class SampleRandom {
 public:
  SampleRandom(std::uint64_t seed, std::int64_t a, std::int64_t b = 0, std::uint64_t stream = 0)
      : state_(mix(mix(mix(seed ^ 0x5a4d52495f545231ULL) ^ static_cast<std::uint64_t>(a)) ^
                   static_cast<std::uint64_t>(b)) ^
               mix(stream + 0x9e3779b97f4a7c15ULL)) {}

  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi].
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0, without modulo bias (rejection).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x;
    do {
      x = next();
    } while (x >= limit);
    return x % n;
  }

 private:
  static std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

}  // namespace samri::train

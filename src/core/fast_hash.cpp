#include "samri/core/fast_hash.h"

#include <cstring>

namespace samri {

namespace {

constexpr std::uint64_t kMul1 = 0x9E3779B185EBCA87ull;
constexpr std::uint64_t kMul2 = 0xC2B2AE3D27D4EB4Full;

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t mix(std::uint64_t acc, std::uint64_t word) {
  acc += word * kMul2;
  return rotl(acc, 31) * kMul1;
}

std::uint64_t avalanche(std::uint64_t h) {
  h ^= h >> 33;
  h *= kMul2;
  h ^= h >> 29;
  h *= kMul1;
  return h ^ (h >> 32);
}

std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::uint64_t fast_hash64(const void* data, std::size_t size, std::uint64_t seed) {
  // Four independent lanes over 32-byte stripes (the shape of xxHash64), so the loop runs at
  // memory speed; the tail goes through lane 0 byte-wise.
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t lane[4] = {seed + kMul1 + kMul2, seed + kMul2, seed, seed - kMul1};
  std::size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    for (int k = 0; k < 4; ++k) {
      std::uint64_t word;
      std::memcpy(&word, p + i + 8 * k, 8);
      if constexpr (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) word = load_le64(p + i + 8 * k);
      lane[k] = mix(lane[k], word);
    }
  }
  std::uint64_t h = rotl(lane[0], 1) + rotl(lane[1], 7) + rotl(lane[2], 12) + rotl(lane[3], 18);
  for (; i < size; ++i) h = mix(h, p[i]);
  return avalanche(h ^ size);
}

}  // namespace samri

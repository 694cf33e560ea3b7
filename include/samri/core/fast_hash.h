#pragma once

#include <cstddef>
#include <cstdint>

namespace samri {

// A fast non-cryptographic 64-bit hash (four lanes over 32-byte stripes, the shape of xxHash64),
// which runs at memory speed: the embedding store checks every row with it before first use, and
// the image-encoder fingerprint hashes hundreds of megabytes with it at start-up. It detects
// accidental damage, not forgery. Stable across versions and machines (stores on disk keep
// matching): do not change it.
std::uint64_t fast_hash64(const void* data, std::size_t size, std::uint64_t seed);

}  // namespace samri

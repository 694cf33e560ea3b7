#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/store/store_dtype.h"

namespace samri::store {

// What one shard holds: N slices' embeddings with their ids and names, and each slice's label
// map at its original size (SAM's view, int32).
struct ShardContents {
  StoreDtype dtype = StoreDtype::kFloat16;
  EncodedEmbeddings embeddings;  // values (N, C, H, W)
  std::vector<std::int64_t> slice_ids;
  std::vector<std::string> slice_names;
  std::vector<torch::Tensor> label_maps;  // (H, W) each, any integer dtype
};

// The shard as written: enough for the store's index and for verify.
struct ShardRecord {
  std::string file;  // file name inside the store's shards/ folder
  std::int64_t rows = 0;
  std::vector<std::int64_t> slice_ids;
  std::string sha256;  // of the whole .h5 file
  std::int64_t bytes = 0;
};

// Writes an HDF5 shard readable by h5py: datasets `embeddings` (N, C, H, W), contiguous, as
// float16 (IEEE half), bfloat16 (stored as uint16 bit patterns, attribute dtype = "bf16"),
// float32 or int8 (with `scales` and `offsets` (N, C) float32: x = q * scale + offset);
// `slice_ids` (N) int64, `slice_names` (N) strings, `row_hash` (N) uint64: fast_hash64 of each
// row's stored bytes (its embedding, then its scales and offsets for int8); and the label maps
// concatenated in `label_maps` (int32) with `label_shapes` (N, 2) and `label_offsets` (N). The file
// is written under a temporary name in the same folder, synced, and renamed to `path`, so a shard
// is either whole or absent; a failure (disk full, ...) throws samri::Error naming the file and
// leaves nothing behind.
ShardRecord write_shard(const std::filesystem::path& path, const ShardContents& contents);

// What a reader needs to map a shard and read its rows without going through HDF5 again.
struct ShardLayout {
  StoreDtype dtype = StoreDtype::kFloat16;
  std::int64_t rows = 0;
  std::array<std::int64_t, 3> chw{};
  std::uint64_t embeddings_offset = 0;  // byte offset of the contiguous `embeddings` data
  std::vector<std::int64_t> slice_ids;
  std::vector<std::uint64_t> row_hash;
  std::vector<float> scales;   // rows * C (int8 only)
  std::vector<float> offsets;  // rows * C (int8 only)
  std::int64_t row_bytes() const { return chw[0] * chw[1] * chw[2] * element_bytes(dtype); }
};

// Opens a shard read-only (without HDF5 file locking: shards never change once written) and
// checks its structure; a damaged or foreign file throws samri::Error naming it.
ShardLayout read_shard_layout(const std::filesystem::path& path);

// Row `row`'s label map, (H, W) int32.
torch::Tensor read_shard_label_map(const std::filesystem::path& path, std::int64_t row);

// The check value of a row's stored bytes (core/fast_hash.h: memory speed, so readers can check
// every row before its first use).
std::uint64_t row_hash(const void* values, std::int64_t value_bytes, const float* scales,
                       const float* offsets, std::int64_t channels);

}  // namespace samri::store

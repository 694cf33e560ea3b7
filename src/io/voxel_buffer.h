#pragma once

// Internal to samri_io: turning the raw voxel bytes of any reader into tensors.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace samri::io::detail {

enum class VoxelType {
  kUInt8,
  kInt8,
  kUInt16,
  kInt16,
  kUInt32,
  kInt32,
  kUInt64,
  kInt64,
  kFloat32,
  kFloat64
};

std::size_t voxel_type_size(VoxelType type);

// Refuses a grid before anything is allocated for it: every axis 1..65536 voxels, and at most
// 2^31 values in all. Messages name `path`.
void check_grid_size(const std::filesystem::path& path, const std::vector<std::int64_t>& size,
                     int components);

// An uninitialised byte tensor to read `count` values of `type` into.
torch::Tensor allocate_voxel_bytes(VoxelType type, std::int64_t count);

// Views (or, for unsigned 16/32/64-bit, widens) the bytes as a flat tensor of a dtype that holds
// every value exactly: uint16 -> int32, uint32 -> int64, uint64 -> int64 (larger values throw).
torch::Tensor voxels_from_bytes(const torch::Tensor& bytes, VoxelType type,
                                const std::filesystem::path& path);

}  // namespace samri::io::detail

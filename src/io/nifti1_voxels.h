#pragma once

// Internal to samri_io: voxels of single-file NIfTI-1 images, read by samri (see nifti_voxels.h)
// while ITK provides the geometry.

#include <cstdint>
#include <filesystem>

#include <torch/torch.h>

namespace samri::io::detail {

// True for a single-file NIfTI-1 image ("n+1" magic), gzip-compressed or not.
bool is_single_file_nifti1(const std::filesystem::path& path);

// Its voxels as a flat tensor (see read_nifti_voxels), checked to be `expected_count` values.
torch::Tensor read_nifti1_voxels(const std::filesystem::path& path, std::int64_t expected_count);

}  // namespace samri::io::detail

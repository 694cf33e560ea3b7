#pragma once

// Internal to samri_io: voxels of single-file NIfTI-1 images, read by samri (see nifti_voxels.h)
// while ITK provides the geometry.

#include <cstdint>
#include <filesystem>
#include <optional>

#include <torch/torch.h>

namespace samri::io::detail {

// The voxels of a single-file NIfTI-1 image ("n+1" magic, gzip-compressed or not) as a flat
// tensor (see read_nifti_voxels), checked to be `expected_count` values; nothing for other files.
std::optional<torch::Tensor> read_nifti1_voxels(const std::filesystem::path& path,
                                                std::int64_t expected_count);

}  // namespace samri::io::detail

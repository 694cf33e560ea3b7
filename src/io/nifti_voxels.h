#pragma once

// Internal to samri_io: the voxel data of single-file NIfTI-1 and NIfTI-2 images.
//
// ITK's NIfTI-1 reader silently zeroes NaN and infinite floats (niftilib does) and accepts files
// cut short, so samri reads NIfTI voxels itself and takes only the geometry from ITK.

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include <torch/torch.h>

namespace samri::io::detail {

// `value` with its bytes in the other order (headers written on a machine of the other endianness).
template <typename T>
T byte_swapped(T value) {
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  std::reverse(bytes, bytes + sizeof(T));
  return value;
}

struct NiftiVoxelLayout {
  std::int64_t offset = 0;  // vox_offset
  int datatype = 0;         // NIfTI DT_* code
  bool swapped = false;     // stored in the other byte order
  double slope = 0.0;       // scl_slope (0 or non-finite: none)
  double intercept = 0.0;   // scl_inter
  std::int64_t count = 0;   // voxels
};

// The voxels as a flat tensor in file order, in a dtype holding them exactly, or float32 scaled
// exactly as ITK does (float(double(float(v)) * slope + intercept)). Reads the stream to its end
// so that truncation and corrupt gzip data are refused.
torch::Tensor read_nifti_voxels(const std::filesystem::path& path, const NiftiVoxelLayout& layout);

}  // namespace samri::io::detail

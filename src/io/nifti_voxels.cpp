#include "nifti_voxels.h"

#include <cmath>
#include <limits>
#include <string>

#include "gz_file.h"
#include "samri/core/error.h"
#include "voxel_buffer.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

VoxelType voxel_type(int datatype, const fs::path& path) {
  switch (datatype) {
    case 2:
      return VoxelType::kUInt8;
    case 256:
      return VoxelType::kInt8;
    case 4:
      return VoxelType::kInt16;
    case 512:
      return VoxelType::kUInt16;
    case 8:
      return VoxelType::kInt32;
    case 768:
      return VoxelType::kUInt32;
    case 1024:
      return VoxelType::kInt64;
    case 1280:
      return VoxelType::kUInt64;
    case 16:
      return VoxelType::kFloat32;
    case 64:
      return VoxelType::kFloat64;
    default:
      throw Error(path.string() + ": NIfTI datatype " + std::to_string(datatype) +
                  " (binary, complex, RGB or 128-bit) is not supported; only scalar images are");
  }
}

// ITK's NiftiImageIO::MustRescale, with niftilib's rule that a non-finite value means 0.
bool must_rescale(double slope, double intercept) {
  const double eps = std::numeric_limits<double>::epsilon();
  return std::abs(slope) > eps && (std::abs(slope - 1.0) > eps || std::abs(intercept) > eps);
}

}  // namespace

torch::Tensor read_nifti_voxels(const fs::path& path, const NiftiVoxelLayout& layout) {
  const VoxelType type = voxel_type(layout.datatype, path);
  GzFile file = open_gz(path);
  skip_to(file.get(), layout.offset, path);
  torch::Tensor bytes = allocate_voxel_bytes(type, layout.count);
  read_exactly(file.get(), bytes.data_ptr(), bytes.numel(), path, "the voxel data");
  read_to_end(file.get(), path);
  const auto width = static_cast<std::int64_t>(voxel_type_size(type));
  if (layout.swapped && width > 1) bytes = bytes.view({layout.count, width}).flip(1).reshape({-1});
  torch::Tensor voxels = voxels_from_bytes(bytes, type, path);
  const double slope = std::isfinite(layout.slope) ? layout.slope : 0.0;
  const double intercept = std::isfinite(layout.intercept) ? layout.intercept : 0.0;
  if (!must_rescale(slope, intercept)) return voxels;
  return (voxels.to(torch::kFloat32).to(torch::kFloat64) * slope + intercept).to(torch::kFloat32);
}

}  // namespace samri::io::detail

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace samri::io {

// Where an image's voxels sit in ITK's physical space (LPS, millimetres), for a 2-D, 3-D or
// 4-D grid. Index axis d of the grid is ITK's index d (NIfTI's i, j, k, t).
struct Geometry {
  std::vector<std::int64_t> size;  // voxels along each index axis
  std::vector<double> spacing;     // distance between voxel centres along each index axis
  std::vector<double> origin;      // physical position of voxel (0, 0, ...)
  // dim x dim, row-major: direction[r * dim + c] is component r of the unit vector along index
  // axis c, as ITK's Image::GetDirection()[r][c].
  std::vector<double> direction;

  int dimension() const { return static_cast<int>(size.size()); }
  std::int64_t voxel_count() const;
};

// Unit spacing, zero origin, identity direction.
Geometry identity_geometry(const std::vector<std::int64_t>& size);

// An image and its geometry, with the voxels in ITK's buffer order:
// - 2-D: data has shape (size[1], size[0]), so data[j][i] is voxel (i, j);
// - 3-D: data has shape (size[2], size[1], size[0]), so data[k][j][i] is voxel (i, j, k);
// - with components > 1 (RGB natural images only) a last axis of length `components` follows.
// data is contiguous on the CPU: float32 from read_image, int64 from read_label_map; writers
// also take uint8, int8, int16, int32 and float64.
struct Image {
  Geometry geometry;
  torch::Tensor data;
  int components = 1;
  std::string source;    // the path it was read from (for messages); empty if built in memory
  bool natural = false;  // read from PNG, JPEG, BMP or TIFF: rows are y as displayed
};

// The tensor shape that holds `geometry` with `components` values per voxel (see Image).
std::vector<std::int64_t> buffer_shape(const Geometry& geometry, int components = 1);

// An image on `reference`'s grid holding `data` (checked against the grid's buffer shape), e.g. a
// mask to be written with the geometry of the image it was computed from.
Image with_data(const Image& reference, torch::Tensor data);

// True if any voxel is NaN or infinite (always false for integer data).
bool has_non_finite(const Image& image);

// Empty if `a` and `b` describe the same grid: equal size, and spacing, origin and direction
// equal within `tolerance` (absolute; millimetres for spacing and origin). Otherwise a sentence
// saying what differs, for error messages.
std::string describe_geometry_mismatch(const Geometry& a, const Geometry& b,
                                       double tolerance = 1e-4);

}  // namespace samri::io

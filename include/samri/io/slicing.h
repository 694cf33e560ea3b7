#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "samri/io/image.h"

namespace samri::io {

// The slicing convention SAMRI trained with (FACTS section 4): slice `index` along index axis
// `axis` of a 3-D volume is a 2-D array whose rows run along the first remaining ITK index axis
// and columns along the second. For axis 2, element [i][j] is voxel (i, j, index); for axis 1,
// [i][k] is voxel (i, index, k); for axis 0, [j][k] is voxel (index, j, k). SAM sees that array as
// an image (row = y, column = x).

// The axis with the fewest voxels; the lowest index on a tie (NumPy's argmin).
int default_slice_axis(const std::vector<std::int64_t>& size);

// The slice as a new contiguous (rows, cols) tensor of the volume's dtype. Throws samri::Error if
// the volume is not 3-D scalar, or the axis or index is out of range.
torch::Tensor extract_slice(const Image& volume, int axis, std::int64_t index);

// The exact inverse of extract_slice: writes `slice` (rows, cols; converted to the volume's
// dtype) into the volume's data in place.
void insert_slice(Image& volume, int axis, std::int64_t index, const torch::Tensor& slice);

// The array SAM sees for a 2-D image, (H, W) or (H, W, 3): rows along ITK index 0 and columns
// along index 1 for medical formats (the slicing convention above), rows = y (index 1) and
// columns = x (index 0) for natural images, as they are displayed.
torch::Tensor sam_view_2d(const Image& image);

// The inverse of sam_view_2d: a (H, W) or (H, W, C) array in SAM's view of `reference` back to
// reference's buffer order, ready for with_data() and write_image().
torch::Tensor from_sam_view_2d(const torch::Tensor& view, const Image& reference);

}  // namespace samri::io

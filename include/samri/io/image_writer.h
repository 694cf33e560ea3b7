#pragma once

#include <filesystem>
#include <vector>

#include "samri/io/image.h"

namespace samri::io {

// Writes `image` atomically (no partial file is ever visible at `path`) in the format its
// extension names: .nii, .nii.gz, .nrrd, .mha (compressed where the format allows), .png, .jpg,
// .bmp, .tif. The voxel type is the tensor's (uint8, int8, int16, int32, int64, float32, float64);
// size, spacing, origin and direction are written as given. Formats with a detached data file
// (.nhdr, .mhd, .hdr) are refused, because two files cannot be replaced atomically together.
// Throws samri::Error naming the path on any failure.
void write_image(const std::filesystem::path& path, const Image& image);

// Stacks 2-D scalar images of one grid along a new last index axis: a 3-D image whose slice k
// (ITK index 2) is images[k]. The new axis has spacing 1, origin 0 and its own direction, so
// in-plane geometry is kept; samri-infer writes its three multimask outputs this way.
Image stack_2d_images(const std::vector<Image>& images);

}  // namespace samri::io

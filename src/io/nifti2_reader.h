#pragma once

// Internal to samri_io: NIfTI-2 single files (.nii, .nii.gz).
//
// ITK 5.2 has no NIfTI-2 reader, and Debian's libnifti2 cannot be linked next to ITK: both export
// nifti_image_read and ~100 other nifti_* symbols with incompatible structs, and linking it made
// ITK's own NIfTI-1 reads fail ("Unknown component type"). So the header is decoded here with the
// struct layout of libnifti2-dev's nifti2.h, and the geometry is derived with the rules ITK 5.2
// applies to NIfTI-1 (checked against ITK on NIfTI-1 twins written by nibabel).

#include <filesystem>

#include "samri/io/image.h"

namespace samri::io::detail {

// True if the file (gzip-compressed or not) starts with a NIfTI-2 header.
bool is_nifti2(const std::filesystem::path& path);

// The image in its stored voxel type (widened where torch lacks it; float32 when a scale slope
// applies), 2-D to 4-D, with ITK's LPS geometry. Throws samri::Error naming the file.
Image read_nifti2(const std::filesystem::path& path);

}  // namespace samri::io::detail

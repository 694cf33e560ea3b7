#pragma once

// Internal to samri_io: reading files through ITK's ImageIO classes.

#include <filesystem>
#include <string>
#include <vector>

#include "samri/io/image.h"

namespace samri::io::detail {

// For file names such as "x.nii.gz", whose format is in more than the last extension.
inline bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Registers ITK's ImageIO factories for the formats above (once per process).
void register_itk_factories();

// Reads a single file with the ImageIO that ITK's factories pick (NIfTI-1, NRRD, MetaImage, PNG,
// JPEG, BMP, TIFF; never DICOM: see dicom_file.h), in its stored voxel type (widened where torch
// lacks it), 2-D to 4-D. Throws samri::Error naming the file.
Image read_with_itk(const std::filesystem::path& path);

// Reads one DICOM file (already checked by inspect_dicom_file) with GDCM; single-frame files are
// 2-D.
Image read_dicom_file_with_itk(const std::filesystem::path& path);

// Reads DICOM slices (already checked and sorted along the slice normal) as one float32 volume.
Image read_dicom_slices_with_itk(const std::vector<std::string>& files,
                                 const std::filesystem::path& directory);

}  // namespace samri::io::detail

#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "samri/io/image.h"

namespace samri::io {

// Reads a 2-D or 3-D scalar image as float32 (see Image for the layout): NIfTI-1 and NIfTI-2
// (.nii, .nii.gz), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd), PNG, JPEG, BMP and TIFF (RGB kept
// as 3 components, an alpha channel dropped), a single DICOM file (2-D unless it has several
// frames), or a folder holding a DICOM series. A folder with several series needs `series_uid`;
// the error lists them. Stored rescale slopes and intercepts are applied.
// A 4-D file with more than one volume is refused (read_image_channels splits it); every problem
// (missing, empty, truncated or corrupt file, unsupported pixel type, absurd size) throws
// samri::Error naming the file.
Image read_image(const std::filesystem::path& path, const std::string& series_uid = "");

// Like read_image, but a 4-D file becomes one 3-D image per index of its 4th axis (channels or
// time points, e.g. the modalities of the MSD brain tumour set), each with the spatial geometry.
// A 2-D or 3-D file gives a single image.
std::vector<Image> read_image_channels(const std::filesystem::path& path,
                                       const std::string& series_uid = "");

// Reads a label map (NIfTI, NRRD, MetaImage, or a grey PNG/BMP/TIFF) as int64 with its geometry.
// Refuses values that are not whole numbers (e.g. 1.5) or do not fit int64, naming the file and
// an example voxel; refuses DICOM (segmentation objects are out of scope).
Image read_label_map(const std::filesystem::path& path);

// The series instance UIDs of the DICOM image series in `directory`, with their file counts, as
// "UID (N files)" lines in UID order; throws if a DICOM file there is damaged.
std::vector<std::string> list_dicom_series(const std::filesystem::path& directory);

}  // namespace samri::io

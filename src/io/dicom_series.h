#pragma once

// Internal to samri_io: DICOM files and series folders, checked before GDCM reads them.

#include <filesystem>
#include <string>
#include <vector>

#include "dicom_file.h"
#include "samri/io/image.h"

namespace samri::io::detail {

struct DicomSeries {
  std::string uid;
  std::vector<std::filesystem::path> files;
  std::vector<DicomFileInfo> infos;
};

// The image series of a folder (top level only), by UID; every DICOM file there is checked, and a
// damaged one is refused by name rather than skipped (it may be a slice of the wanted series).
std::vector<DicomSeries> scan_dicom_directory(const std::filesystem::path& directory);

// One series of the folder as a float32 volume (a 2-D image if the series is a single
// one-frame file). `series_uid` may be empty when the folder holds exactly one series.
Image read_dicom_directory(const std::filesystem::path& directory, const std::string& series_uid);

// One Part 10 file as float32: 2-D for one frame, 3-D for several.
Image read_dicom_file(const std::filesystem::path& path);

}  // namespace samri::io::detail

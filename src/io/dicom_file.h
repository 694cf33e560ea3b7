#pragma once

// Internal to samri_io: a structural check of DICOM files before GDCM sees them.
//
// Debian's GDCM is built with assertions, and a DICOM file cut short anywhere but inside the pixel
// data makes it abort the whole process (checked with pydicom's MR_small.dcm cut at several
// offsets); cut inside the pixel data, it only warns and zero-fills (MR_truncated.dcm). So every
// file is walked element by element here first, and refused cleanly when it is damaged.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace samri::io::detail {

struct DicomFileInfo {
  std::string transfer_syntax;
  std::string series_uid;
  std::string image_position;     // raw "x\y\z" of (0020,0032), empty if absent
  std::string image_orientation;  // raw six values of (0020,0037), empty if absent
  std::optional<std::int64_t> instance_number;
  std::int64_t rows = 0;
  std::int64_t columns = 0;
  std::int64_t frames = 1;
  std::int64_t samples_per_pixel = 1;
  std::int64_t bits_allocated = 0;
  bool has_pixel_data = false;
  bool encapsulated = false;  // compressed pixel data in fragments
};

// True if the file has the DICOM Part 10 preamble ("DICM" at byte 128).
bool has_dicom_preamble(const std::filesystem::path& path);

// Walks every element of a Part 10 file (nested sequences included) checking that each fits in
// the file, and that native pixel data holds rows x columns x frames x samples x bytes. Throws
// samri::Error naming the file and what is wrong.
DicomFileInfo inspect_dicom_file(const std::filesystem::path& path);

}  // namespace samri::io::detail

#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace samri::data {

// One image (a file, or a DICOM series folder) with its label map.
struct DatasetCase {
  std::string patient;   // default: the label (or image) file stem
  std::string modality;  // optional; part of output names when set
  std::filesystem::path image;
  std::filesystem::path label;
};

// The cases of a dataset folder, sorted by patient then modality:
// - images/ + labels/: every image (NIfTI, NRRD, MetaImage, or a folder holding a DICOM series)
//   with the label map of the same stem (name without .nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd);
// - nnU-Net's imagesTr/ + labelsTr/: images CASE_XXXX.* with label CASE.*; XXXX is the modality.
// An image without a label map, or a label map without an image, throws samri::Error naming it.
std::vector<DatasetCase> find_dataset_cases(const std::filesystem::path& folder);

// The cases of a list file: CSV with a header naming at least the columns image and label
// (patient, modality optional), or JSON: an array of {"image", "label", "patient", "modality"}
// objects (or {"cases": [...]}). Relative paths are relative to the list file's folder.
std::vector<DatasetCase> read_dataset_list(const std::filesystem::path& file);

// Throws samri::Error if two cases share a patient id and modality (output names would collide).
void check_unique_cases(const std::vector<DatasetCase>& cases, const std::string& source);

// The file name without its image extension (".nii.gz" counts as one).
std::string image_stem(const std::filesystem::path& path);

// True for the volume formats read from folders: .nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd.
bool is_image_file(const std::filesystem::path& path);

// Label names from JSON ({"1": "liver", ...}, {"labels": {...}}, or nnU-Net v2's
// {"labels": {"background": 0, "liver": 1}}) or from a lookup table of
// "value name [more columns]" lines (CRLF and '#' comments tolerated), as aal.nii.txt.
std::map<std::int64_t, std::string> read_label_names(const std::filesystem::path& file);

}  // namespace samri::data

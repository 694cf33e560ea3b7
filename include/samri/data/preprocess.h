#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "samri/data/preprocess_options.h"

namespace samri::data {

// What run_preprocess did (summary.json holds this and every dropped slice and label).
struct PreprocessSummary {
  std::int64_t cases = 0;    // volumes (one per image channel) processed or reused
  std::int64_t reused = 0;   // volumes whose finished output was kept from an earlier run
  std::int64_t skipped = 0;  // bad cases recorded (skip_bad_cases)
  std::int64_t slices = 0;   // image/label slice pairs written
  std::int64_t samples = 0;  // manifest lines
  std::int64_t patients = 0;
  std::map<std::string, std::int64_t> samples_per_split;  // train, val, test
  std::map<std::string, std::int64_t> patients_per_split;
  std::map<std::int64_t, std::int64_t> samples_per_label;
};

// Turns a dataset into the paper's 2-D training slices in options.output:
//   images/<patient>[_<channel>]_s<slice>.nii.gz   uint8 image slice (paper intensity rule)
//   labels/<patient>[_<channel>]_s<slice>.nii.gz   the label map's slice (all labels)
//   manifest.jsonl                                 one JSON object per sample
//   summary.json                                   counts, splits, every drop with its reason
// Slices follow io::extract_slice (rows along the first remaining ITK index axis) and are written
// as 2-D images with the in-plane spacing. Each volume's results are kept in parts/ once all its
// slices are written, so a rerun reuses finished volumes (resume after a kill) and gives identical
// files. Throws samri::Error naming the file on bad input (unless skip_bad_cases).
PreprocessSummary run_preprocess(const PreprocessOptions& options);

}  // namespace samri::data

#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace samri::data {

// Everything samri-preprocess takes; the defaults are the paper's rules (FACTS section 2), and
// configs/preprocess_public_code.json holds the public code's values.
struct PreprocessOptions {
  // Input: a dataset folder (images/ + labels/, or nnU-Net's imagesTr/ + labelsTr/) or a CSV/JSON
  // list of cases (see dataset.h). Exactly one of the two.
  std::string input_dir;
  std::string list_file;
  std::string dataset;      // dataset name in the manifest; default: the folder or list file stem
  std::string label_names;  // JSON {"1": "name"} or a "value name [more]" lookup table
  std::string series_uid;   // DICOM folders holding several series
  std::string output;       // output dataset folder (created)

  // Rules.
  std::optional<int> axis;            // default: the axis with the fewest voxels (argmin)
  double peripheral_fraction = 0.10;  // drop the first and last floor(n * f) slices; 0: keep all
  std::int64_t min_pixels = 10;       // a label needs this many pixels on a slice to be a sample
  bool connected_components = false;  // one sample per 8-connected component of a label
  std::string intensity = "slice";    // slice | volume | percentile
  double percentile_low = 0.5;        // percentile mode: volume-wide, over non-zero voxels
  double percentile_high = 99.5;

  // Patient split: from a hash of (dataset, patient, seed), so adding patients moves no one.
  std::uint64_t seed = 0;
  double train_fraction = 0.8;
  double val_fraction = 0.1;         // test gets the rest
  bool zero_shot = false;            // the whole dataset goes to test
  std::string single_patient_split;  // train|val|test for a one-patient dataset; "" = by hash

  // Geometry and robustness.
  bool resample_labels = false;  // nearest-neighbour resample a mismatching label map
  double geometry_tolerance = 1e-4;
  bool skip_bad_cases = false;  // record a bad case in summary.json instead of failing
  int threads = 1;              // volumes processed at once (memory: one volume per thread)
};

// Overwrites the fields named in a JSON config file (keys as the fields above, e.g.
// {"min_pixels": 30, "peripheral_fraction": 0}); unknown keys and wrong types throw samri::Error
// naming the file and the key.
void apply_preprocess_config(PreprocessOptions& options, const std::filesystem::path& file);

// Checks value ranges (fraction in [0, 0.5), intensity mode, split fractions...); throws
// samri::Error naming the option.
void validate_preprocess_options(const PreprocessOptions& options);

// A canonical JSON text of the options that decide what a volume's slices and samples are (not
// the split, label names, threads or paths), stored in the output folder so that a rerun with other
// rules is refused rather than mixed in.
std::string rules_fingerprint(const PreprocessOptions& options);

}  // namespace samri::data

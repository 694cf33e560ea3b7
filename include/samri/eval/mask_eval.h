#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "samri/eval/eval_report.h"

namespace samri::eval {

// Options of `samri-eval --pred DIR --gt DIR`: scoring any tool's segmentations.
struct MaskEvalOptions {
  EvalSettings settings;
  // (method name, folder or file) pairs; the name is "pred" when the user gave none.
  std::vector<std::pair<std::string, std::filesystem::path>> predictions;
  std::filesystem::path reference;    // folder (files matched by name) or one file
  std::string dataset;                // the dataset column; default: the reference folder's name
  bool per_volume = false;            // 3-D metrics per volume instead of slice by slice
  int axis = -1;                      // slicing axis; -1: the preprocess rule (fewest voxels)
  std::vector<std::int64_t> labels;   // the labels to score; empty: every non-zero value
  std::filesystem::path label_map;    // JSON {"prediction value": reference value}
  std::filesystem::path label_names;  // lookup table or (nnU-Net) dataset.json
  bool binary = false;                // refuse masks with values other than 0 and 1
  bool millimetres = false;           // distances from the image spacing
};

// Pairs the files, scores every label on every slice (or volume) where either side has it, and
// writes the report (write_report). Throws samri::Error, with nothing written, when files are
// missing on either side (all listed), grids differ, or a --binary mask holds another value.
EvalSummary run_mask_eval(const MaskEvalOptions& options);

}  // namespace samri::eval

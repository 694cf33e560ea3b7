#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "samri/infer/propagation.h"

namespace samri::infer {

// When a segmented slice is listed for a person to check.
struct ReviewRules {
  double min_iou = 0.75;         // predicted IoU under this
  double max_area_factor = 2.0;  // area grew or shrank by more than this from its neighbour
};

// One object (one label) of a volume run and what happened on each of its slices.
struct ObjectOutcome {
  std::int64_t label = 0;
  bool propagated = false;
  std::vector<std::int64_t> seeds;             // propagated objects only
  std::map<std::int64_t, SliceResult> slices;  // the logits are not needed here
  std::vector<DirectionStop> stops;
};

// What the run was, for the report's header.
struct RunSummary {
  std::string input;
  std::string output;
  int axis = 2;
  PropagationSettings propagation;
  std::int64_t slices_encoded = 0;
  std::int64_t slices_read = 0;  // from an embedding store
  double encode_seconds = 0.0;
  double decode_seconds = 0.0;
};

// Why `result` should be checked (empty: nothing to say).
std::vector<std::string> review_reasons(const SliceResult& result, const ReviewRules& rules);

// area_change of each slice that has none yet: its area over the same object's area on the
// previous slice, when the object has one there (the prompted, non-propagated case).
void fill_area_changes(ObjectOutcome& object);

// SEG.json beside SEG.nii.gz (or .nii, .nrrd, .mha, ...).
std::string default_report_path(const std::string& output);

// Writes the per-slice report (JSON, atomically): every object's slices with predicted IoU, area
// and area change, its seeds and why each direction stopped, and the "review" list.
void write_report(const std::string& path, const RunSummary& run,
                  const std::vector<ObjectOutcome>& objects, const ReviewRules& rules);

}  // namespace samri::infer

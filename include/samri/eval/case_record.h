#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "samri/eval/mask_metrics.h"

namespace samri::eval {

// One scored case: one object (label value) on one slice, or in one volume (slice -1), as
// segmented by one method. The rows of cases.csv.
struct CaseRecord {
  std::string dataset, patient, image;
  std::int64_t slice = -1;
  std::int64_t label = 0;
  std::string label_name;
  std::int64_t pixels = 0;   // of the reference mask
  double area_fraction = 0;  // pixels over the slice's (volume's) pixels
  std::string size_bin;      // set by assign_size_bins; "none" for an empty reference
  std::string prompt;        // box | box_point; empty in mask mode
  std::string model;
  MaskScores scores;
  // The prompt used, in the slice's pixel frame (x = column, y = row); NaN when none.
  std::array<double, 4> box{nan(), nan(), nan(), nan()};
  std::array<double, 2> point{nan(), nan()};
  double predicted_iou = nan();  // the decoder's own estimate (model mode); NaN in mask mode

  // The name under which tables show this case's method: the model, with the prompt when a
  // comparison mixes prompts.
  std::string method(bool with_prompt) const;
  // What pairs cases across methods: the same object on the same slice.
  std::string pair_key() const;

 private:
  static constexpr double nan() { return std::numeric_limits<double>::quiet_NaN(); }
};

// Which optional metric columns cases.csv carries after the fixed ones.
struct CaseColumns {
  bool predicted_iou = false;
  bool hd95 = false;
  bool nsd = false;
};

// cases.csv: the columns dataset, patient, image, slice, label, label_name, pixels,
// area_fraction, size_bin, prompt, model, dice, hd, msd first and in that order, then the box
// and point, the empty-mask kind, and the optional columns (predicted IoU, metrics). Numbers with
// 17 significant digits; NaN as an empty cell. Written atomically.
void write_cases_csv(const std::filesystem::path& path, const std::vector<CaseRecord>& cases,
                     const CaseColumns& columns);

// A case as JSON and back, exactly (doubles keep every bit; NaN and infinities survive): how ranks
// of a data-parallel evaluation send their cases to rank 0.
nlohmann::json case_to_json(const CaseRecord& c);
CaseRecord case_from_json(const nlohmann::json& j);

// True when the cases hold more than one prompt kind (tables then name methods with prompts).
bool mixes_prompts(const std::vector<CaseRecord>& cases);

}  // namespace samri::eval

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "samri/eval/case_record.h"

namespace samri::eval {

// Spearman's rank correlation of x and y: Pearson's correlation of their ranks, tied values
// sharing their average rank (SciPy's spearmanr). NaN when fewer than 3 pairs or a side is
// constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// How well the decoder's predicted IoU ranks the real Dice for one method on one dataset.
struct IouAgreement {
  std::string method;
  std::string dataset;
  std::int64_t cases = 0;
  double spearman = 0.0;
};

// Per method and dataset, over the cases that have a predicted IoU and a non-empty reference:
// whether the confidence flags of samri-infer's reports can be trusted on that data.
std::vector<IouAgreement> iou_dice_agreement(const std::vector<CaseRecord>& cases);

}  // namespace samri::eval

#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "samri/eval/grid.h"

namespace samri::eval {

// Which masks of a case are empty. The policy (documented in docs/metrics.md):
//  - both empty: Dice 1, every distance 0, NSD 1 (the prediction is right);
//  - one empty: Dice 0, NSD 0, and the distances are `MetricOptions::empty_distance` (NaN by
//    default: written as empty cells, left out of distance statistics and counted in reports).
enum class EmptyMasks { none, prediction, reference, both };
std::string to_string(EmptyMasks e);

struct MetricOptions {
  // Distance for a case with one empty mask: NaN, or e.g. the grid's diagonal as a penalty.
  double empty_distance = std::numeric_limits<double>::quiet_NaN();
  // Normalised surface Dice at this tolerance (the grid's units); NaN leaves it out.
  double nsd_tolerance = std::numeric_limits<double>::quiet_NaN();
};

// The scores of one prediction against one reference mask. SAMRI's definitions: surfaces are the
// masks minus their face-connected erosions (mask_surface); each surface element's distance to
// the other surface is exact (Euclidean, in the grid's spacing units); HD is the maximum and MSD
// the mean of the two directed distance sets pooled. HD95 is the larger of the two directed 95th
// percentiles (linear interpolation, as numpy and MONAI). NSD counts the surface elements within
// the tolerance of the other surface over all surface elements (element counts, not the surfel
// areas of DeepMind's surface-distance).
struct MaskScores {
  double dice = 0;
  double hd = 0, msd = 0, hd95 = 0;
  double nsd = std::numeric_limits<double>::quiet_NaN();
  std::int64_t prediction_pixels = 0, reference_pixels = 0;
  EmptyMasks empty = EmptyMasks::none;
};

MaskScores score_masks(const Mask& prediction, const Mask& reference, const Grid& grid,
                       const MetricOptions& options = {});

// The length of the grid's diagonal in its spacing units: the largest possible distance.
double grid_diagonal(const Grid& grid);

}  // namespace samri::eval

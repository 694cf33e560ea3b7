#pragma once

#include <vector>

#include "samri/eval/grid.h"

namespace samri::eval {

// The exact squared Euclidean distance from every element of the grid to the nearest set element
// of `features`, in the grid's spacing units (separable lower envelopes of parabolas, Felzenszwalb
// and Huttenlocher 2012). Every element is +inf when no feature is set. Distances are exact in
// double for any spacing, so they can be checked against SciPy's distance_transform_edt.
std::vector<double> squared_distance_to_nearest(const Mask& features, const Grid& grid);

}  // namespace samri::eval

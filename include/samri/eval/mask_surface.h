#pragma once

#include "samri/eval/grid.h"

namespace samri::eval {

// The surface of a mask as SAMRI defines it: the mask minus its erosion by the face-connected
// structuring element (4-connected in 2-D, 6-connected in 3-D), with elements outside the grid
// counted as background (SciPy's binary_erosion with border_value=0). So an object touching the
// grid's edge has a surface along that edge.
Mask mask_surface(const Mask& mask, const Grid& grid);

}  // namespace samri::eval

#pragma once

#include <cstdint>
#include <vector>

namespace samri::eval {

// The shape of a 2-D or 3-D mask stored in C order (last axis fastest), with the spacing of each
// axis in the same order: ones for pixel units, millimetres for physical ones.
struct Grid {
  std::vector<std::int64_t> size;
  std::vector<double> spacing;

  // Pixel units: every spacing 1.
  static Grid pixels(std::vector<std::int64_t> size);
  std::int64_t count() const;
  std::size_t dims() const { return size.size(); }
};

// A binary mask on a grid: one byte per element, non-zero is inside.
using Mask = std::vector<std::uint8_t>;

}  // namespace samri::eval

#include "samri/eval/grid.h"

namespace samri::eval {

Grid Grid::pixels(std::vector<std::int64_t> size) {
  Grid g;
  g.spacing.assign(size.size(), 1.0);
  g.size = std::move(size);
  return g;
}

std::int64_t Grid::count() const {
  std::int64_t n = 1;
  for (const auto s : size) n *= s;
  return n;
}

}  // namespace samri::eval

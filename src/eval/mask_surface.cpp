#include "samri/eval/mask_surface.h"

#include <cstdint>

namespace samri::eval {

Mask mask_surface(const Mask& mask, const Grid& grid) {
  const auto dims = static_cast<std::int64_t>(grid.dims());
  std::vector<std::int64_t> stride(dims, 1);
  for (auto a = dims - 2; a >= 0; --a) stride[a] = stride[a + 1] * grid.size[a + 1];
  Mask surface(mask.size(), 0);
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(mask.size()); ++i) {
    if (!mask[i]) continue;
    bool inner = true;
    for (std::int64_t a = 0; a < dims && inner; ++a) {
      const std::int64_t c = (i / stride[a]) % grid.size[a];
      inner = c > 0 && c + 1 < grid.size[a] && mask[i - stride[a]] && mask[i + stride[a]];
    }
    surface[i] = inner ? 0 : 1;
  }
  return surface;
}

}  // namespace samri::eval

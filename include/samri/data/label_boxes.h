#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace samri::data {

// One label's footprint on a 2-D slice in SAM image coordinates (x = column, y = row).
struct LabelBox {
  std::int64_t label = 0;
  std::int64_t pixels = 0;
  std::array<std::int64_t, 4> box{0, 0, 0, 0};  // x0, y0, x1, y1, inclusive
};

// Every non-zero label of a (H, W) integer slice with at least `min_pixels` pixels, in increasing
// label order, with its tightest box (SAM's [min_x, min_y, max_x, max_y]).
std::vector<LabelBox> label_boxes(const torch::Tensor& labels_hw, std::int64_t min_pixels);

}  // namespace samri::data

#include "samri/data/label_boxes.h"

#include <map>

#include "samri/core/error.h"

namespace samri::data {

std::vector<LabelBox> label_boxes(const torch::Tensor& labels_hw, std::int64_t min_pixels) {
  if (labels_hw.dim() != 2) throw Error("label_boxes: expected a 2-D slice");
  const auto labels = labels_hw.to(torch::kInt64).contiguous();
  const auto* v = labels.data_ptr<std::int64_t>();
  const std::int64_t h = labels.size(0), w = labels.size(1);
  // One pass over the slice, however many labels it has.
  std::map<std::int64_t, LabelBox> found;
  for (std::int64_t y = 0; y < h; ++y) {
    for (std::int64_t x = 0; x < w; ++x) {
      const std::int64_t label = v[y * w + x];
      if (label == 0) continue;
      auto [it, inserted] = found.try_emplace(label);
      LabelBox& b = it->second;
      if (inserted) {
        b.label = label;
        b.box = {x, y, x, y};
      }
      ++b.pixels;
      b.box[0] = std::min(b.box[0], x);
      b.box[1] = std::min(b.box[1], y);
      b.box[2] = std::max(b.box[2], x);
      b.box[3] = std::max(b.box[3], y);
    }
  }
  std::vector<LabelBox> out;
  for (const auto& [label, b] : found) {
    if (b.pixels >= min_pixels) out.push_back(b);
  }
  return out;
}

}  // namespace samri::data

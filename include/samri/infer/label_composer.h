#pragma once

#include <cstdint>
#include <map>

#include <torch/torch.h>

#include "samri/io/image.h"

namespace samri::infer {

// Builds label slices from objects' logits: an object claims the pixels where its logit is above
// the mask threshold and above every other object's there, so overlaps go to the most confident.
class LabelComposer {
 public:
  explicit LabelComposer(double mask_threshold) : threshold_(mask_threshold) {}

  void add(std::int64_t slice, std::int64_t label, const torch::Tensor& logits);

  // (H, W) int64 labels of a slice (zeros where nothing was added); `shape` gives H, W.
  torch::Tensor labels(std::int64_t slice, torch::IntArrayRef shape) const;

  // Writes every composed slice into `volume` (whose data is the label volume) along `axis`.
  void write_into(io::Image& volume, int axis) const;

 private:
  struct Slice {
    torch::Tensor labels;  // (H, W) int64
    torch::Tensor best;    // (H, W) float: the winning logit so far
  };
  double threshold_;
  std::map<std::int64_t, Slice> slices_;
};

}  // namespace samri::infer

#include "samri/infer/label_composer.h"

#include <limits>

#include "samri/io/slicing.h"

namespace samri::infer {

void LabelComposer::add(std::int64_t slice, std::int64_t label, const torch::Tensor& logits) {
  auto it = slices_.find(slice);
  if (it == slices_.end()) {
    Slice fresh{torch::zeros(logits.sizes(), torch::kInt64),
                torch::full(logits.sizes(), -std::numeric_limits<float>::infinity())};
    it = slices_.emplace(slice, std::move(fresh)).first;
  }
  Slice& s = it->second;
  const torch::Tensor wins = (logits > threshold_).logical_and(logits > s.best);
  s.labels.masked_fill_(wins, label);
  s.best = torch::where(wins, logits, s.best);
}

torch::Tensor LabelComposer::labels(std::int64_t slice, torch::IntArrayRef shape) const {
  const auto it = slices_.find(slice);
  return it == slices_.end() ? torch::zeros(shape, torch::kInt64) : it->second.labels;
}

void LabelComposer::write_into(io::Image& volume, int axis) const {
  for (const auto& [slice, s] : slices_) io::insert_slice(volume, axis, slice, s.labels);
}

}  // namespace samri::infer

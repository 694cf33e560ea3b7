#include "samri/infer/slice_embeddings.h"

#include "samri/infer/sam_input.h"
#include "samri/io/slicing.h"

namespace samri::infer {

namespace {

std::array<int, 2> slice_size(const io::Image& volume, int axis) {
  std::array<int, 2> size{};
  for (int d = 0, k = 0; d < 3; ++d) {
    if (d != axis) size[k++] = static_cast<int>(volume.geometry.size[d]);
  }
  return size;
}

}  // namespace

SliceEmbeddings::SliceEmbeddings(model::SamPredictor& predictor, const io::Image& volume, int axis,
                                 bool keep, const StoredSlices* stored)
    : predictor_(predictor),
      volume_(volume),
      axis_(axis),
      keep_(keep),
      stored_(stored),
      size_(slice_size(volume, axis)) {}

void SliceEmbeddings::select(std::int64_t slice) {
  if (slice == current_) return;
  if (const auto it = kept_.find(slice); it != kept_.end()) {
    predictor_.set_embedding(it->second, size_);
    current_ = slice;
    return;
  }
  if (stored_ && stored_->has(slice)) {
    predictor_.set_embedding(stored_->embedding(slice), size_);
    ++read_;
    current_ = slice;
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  predictor_.set_image(sam_input_image(io::extract_slice(volume_, axis_, slice)));
  encode_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++encoded_;
  current_ = slice;
  if (keep_) kept_.emplace(slice, predictor_.embedding());
}

}  // namespace samri::infer

#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>

#include <torch/torch.h>

#include "samri/infer/stored_slices.h"
#include "samri/io/image.h"
#include "samri/model/predictor.h"

namespace samri::infer {

// Points a predictor at the embedding of one slice of a volume: read from `stored` when it holds
// the slice, otherwise encoded, at most once per slice when `keep` (the embeddings stay in memory,
// 4 bytes x 256 x 64 x 64 = 4 MB per ViT-B slice), or on every change of slice otherwise.
class SliceEmbeddings {
 public:
  SliceEmbeddings(model::SamPredictor& predictor, const io::Image& volume, int axis, bool keep,
                  const StoredSlices* stored = nullptr);

  void select(std::int64_t slice);

  std::int64_t encoded() const { return encoded_; }
  std::int64_t read() const { return read_; }
  double encode_seconds() const { return encode_seconds_; }

 private:
  model::SamPredictor& predictor_;
  const io::Image& volume_;
  int axis_;
  bool keep_;
  const StoredSlices* stored_;
  std::array<int, 2> size_;  // (rows, cols) of a slice
  std::int64_t read_ = 0;
  std::int64_t current_ = -1;
  std::map<std::int64_t, torch::Tensor> kept_;
  std::int64_t encoded_ = 0;
  double encode_seconds_ = 0.0;
};

}  // namespace samri::infer

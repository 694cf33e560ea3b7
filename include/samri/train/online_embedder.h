#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "samri/embed/slice_encoder.h"
#include "samri/store/embedding_store.h"

namespace samri::train {

// samri-train --embed-online: the frozen image encoder run on a slice's image at every step
// instead of reading its stored embedding (the paper's Table S6 comparison). The image is found
// through the store's metadata: slice "<dataset>/<path>" is <path> in the preprocess folder the
// store recorded for that dataset. The encoder runs at the precision the store was made with.
class OnlineEmbedder {
 public:
  OnlineEmbedder(const std::string& checkpoint, const model::SamConfig& config,
                 torch::Device device, const std::string& precision);
  // The (C, H, W) float32 embedding of `slice` of `store`, into `out`.
  void embed(const store::EmbeddingStore& store, std::int64_t slice, torch::Tensor out);

 private:
  model::SamConfig config_;
  std::unique_ptr<embed::SliceEncoder> encoder_;
};

}  // namespace samri::train

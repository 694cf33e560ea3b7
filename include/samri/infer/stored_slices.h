#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <torch/torch.h>

#include "samri/model/sam_config.h"
#include "samri/store/embedding_store.h"

namespace samri::infer {

// The stored embeddings of one volume's slices (samri-infer --embeddings STORE): the store's
// slices whose source has the volume's sha256 (core/sha256.h) and whose axis is the run's.
class StoredSlices {
 public:
  // Refuses (samri::Error) a store made with another image encoder or architecture than the
  // model's (unless allow_mismatch), from an intensity rule other than samri-infer's per-slice one,
  // or holding no slice of `input` along `axis` (the message names the volumes it does hold).
  StoredSlices(const std::string& store, const std::string& input, int axis,
               const std::string& encoder_fingerprint, const model::SamConfig& config,
               bool allow_mismatch);

  bool has(std::int64_t index) const { return ids_.count(index) > 0; }
  std::size_t size() const { return ids_.size(); }
  // (1, C, H, W) float32.
  torch::Tensor embedding(std::int64_t index) const;

 private:
  store::EmbeddingStore store_;
  std::map<std::int64_t, std::int64_t> ids_;  // slice index along the axis -> store slice id
};

}  // namespace samri::infer

#pragma once

#include <optional>
#include <utility>

#include <torch/torch.h>

#include "samri/model/sam_config.h"

namespace samri::model {

// SAM's prompt encoder. Registered names: pe_layer.positional_encoding_gaussian_matrix (buffer),
// point_embeddings.{0..3}, not_a_point_embed, mask_downscaling.{0,1,3,4,6}, no_mask_embed.
class PromptEncoderImpl : public torch::nn::Module {
 public:
  explicit PromptEncoderImpl(const PromptEncoderConfig& config);
  // points: (coords (B, N, 2) in model-input pixels, labels (B, N): 1 pos, 0 neg, -1 pad);
  // boxes (B, 4) or (B, 1, 4) xyxy; masks (B, 1, 4*H, 4*W). Returns (sparse (B, K, C),
  // dense (B, C, H, W)). With points and no box, one pad point is appended (as the reference).
  std::pair<torch::Tensor, torch::Tensor> forward(
      const std::optional<std::pair<torch::Tensor, torch::Tensor>>& points,
      const std::optional<torch::Tensor>& boxes, const std::optional<torch::Tensor>& masks);
  // (1, C, H, W) positional encoding of the image embedding grid.
  torch::Tensor get_dense_pe();
  const PromptEncoderConfig& config() const { return config_; }

 private:
  PromptEncoderConfig config_;
};
TORCH_MODULE(PromptEncoder);

}  // namespace samri::model

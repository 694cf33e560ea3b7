#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "samri/model/sam_config.h"

namespace samri::model {

// Random Fourier features of 2-D coordinates (SAM's PositionEmbeddingRandom). The Gaussian
// matrix is a buffer (not trained) named positional_encoding_gaussian_matrix, shape (2, C/2).
class PositionEmbeddingRandomImpl : public torch::nn::Module {
 public:
  explicit PositionEmbeddingRandomImpl(int64_t num_pos_feats);
  // (H, W) grid of pixel centres -> (C, H, W).
  torch::Tensor forward(int64_t height, int64_t width);
  // coords (..., 2) in pixels (x, y) of an image of image_size (H, W) -> (..., C).
  torch::Tensor forward_with_coords(const torch::Tensor& coords, std::array<int, 2> image_size);
  // The Gaussian matrix, to tell whether something derived from it is still current.
  const torch::Tensor& gaussian_matrix() const { return gaussian_matrix_; }

 private:
  // coords (..., 2) in [0, 1] -> (..., C): cat(sin, cos) of 2*pi * (2*coords - 1) @ matrix.
  torch::Tensor encode(const torch::Tensor& unit_coords);
  torch::Tensor gaussian_matrix_;
};
TORCH_MODULE(PositionEmbeddingRandom);

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
  // (1, C, H, W) positional encoding of the image embedding grid. Computed once and reused while
  // the Gaussian matrix stays the same tensor, unmodified (every decoder call needs it); do not
  // modify the result in place.
  torch::Tensor get_dense_pe();
  const PromptEncoderConfig& config() const { return config_; }

 private:
  torch::Tensor embed_points(const torch::Tensor& coords, const torch::Tensor& labels, bool pad);
  torch::Tensor embed_boxes(const torch::Tensor& boxes);
  torch::Tensor dense_embedding(const std::optional<torch::Tensor>& masks, int64_t batch);

  PromptEncoderConfig config_;
  PositionEmbeddingRandom pe_layer_{nullptr};
  // 0 negative point, 1 positive point, 2 top-left box corner, 3 bottom-right box corner.
  std::vector<torch::nn::Embedding> point_embeddings_;
  torch::nn::Embedding not_a_point_embed_{nullptr};
  torch::nn::Sequential mask_downscaling_{nullptr};
  torch::nn::Embedding no_mask_embed_{nullptr};
  struct DensePe {
    torch::Tensor value;
    const void* matrix = nullptr;
    std::uint32_t version = 0;
  } dense_pe_;
};
TORCH_MODULE(PromptEncoder);

}  // namespace samri::model

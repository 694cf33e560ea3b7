#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <utility>

#include <torch/torch.h>

#include "samri/model/linear.h"
#include "samri/model/scratch_buffer.h"

namespace samri::model {

// The relative-position table rows for every (query, key) pair along one axis, (q_size, k_size,
// head_dim): the reference's get_rel_pos. A table whose length is not 2 * max(q, k) - 1 (a model
// trained at another resolution) is first resized by linear interpolation.
torch::Tensor get_rel_pos(int64_t q_size, int64_t k_size, const torch::Tensor& rel_pos);

// Multi-head self-attention over a (B, H, W, C) token grid with SAM's decomposed relative
// positions. Parameters: qkv, proj, and rel_pos_h / rel_pos_w of (2 * input_size - 1, head_dim).
class VitAttentionImpl : public torch::nn::Module {
 public:
  VitAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias, bool use_rel_pos,
                   std::array<int64_t, 2> input_size, WeightInit init = WeightInit::kRandom);
  torch::Tensor forward(const torch::Tensor& x);
  // Inference on a CPU then builds the attention logits in `scratch` (shared by the encoder's
  // blocks) instead of fresh memory.
  void share_scratch(std::shared_ptr<ScratchBuffer> scratch) { scratch_ = std::move(scratch); }

 private:
  struct RelPosTerms {
    torch::Tensor rows;     // (B * heads, H, W, H): query (y, x) against key row ky
    torch::Tensor columns;  // (B * heads, H, W, W): query (y, x) against key column kx
  };
  RelPosTerms rel_pos_terms(const torch::Tensor& q, int64_t h, int64_t w) const;
  torch::Tensor rel_pos_logits(const torch::Tensor& q, int64_t h, int64_t w) const;
  bool streams_logits(const torch::Tensor& q) const;
  torch::Tensor batched_attention(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, int64_t h, int64_t w) const;
  torch::Tensor streamed_attention(const torch::Tensor& q, const torch::Tensor& k,
                                   const torch::Tensor& v, int64_t h, int64_t w) const;
  bool reuse_scratch(const torch::Tensor& q, const torch::Tensor& rel_h,
                     const torch::Tensor& rel_w) const;

  int64_t num_heads_;
  double scale_;
  bool use_rel_pos_;
  Linear qkv_{nullptr};
  Linear proj_{nullptr};
  torch::Tensor rel_pos_h_;
  torch::Tensor rel_pos_w_;
  std::shared_ptr<ScratchBuffer> scratch_;
};
TORCH_MODULE(VitAttention);

// The ViT feed-forward layer: lin1, exact (erf) GELU, lin2.
class VitMlpImpl : public torch::nn::Module {
 public:
  VitMlpImpl(int64_t dim, int64_t hidden_dim, WeightInit init = WeightInit::kRandom);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  Linear lin1_{nullptr};
  Linear lin2_{nullptr};
};
TORCH_MODULE(VitMlp);

struct VitBlockOptions {
  int64_t dim = 768;
  int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool use_rel_pos = true;
  int64_t window_size = 0;                   // 0: global attention over the whole grid
  std::array<int64_t, 2> grid_size{64, 64};  // token grid of the image (global tables' size)
  double layer_norm_eps = 1e-6;
  WeightInit init = WeightInit::kRandom;  // of the linear layers, which hold nearly every weight
};

// One pre-norm transformer block of SAM's image encoder on a (B, H, W, C) grid: norm1, windowed
// (zero-padded to whole windows) or global attention, residual; norm2, MLP, residual.
class VitBlockImpl : public torch::nn::Module {
 public:
  explicit VitBlockImpl(const VitBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  void share_scratch(std::shared_ptr<ScratchBuffer> scratch) {
    attn_->share_scratch(std::move(scratch));
  }

 private:
  int64_t window_size_;
  torch::nn::LayerNorm norm1_{nullptr};
  VitAttention attn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  VitMlp mlp_{nullptr};
};
TORCH_MODULE(VitBlock);

}  // namespace samri::model

#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace samri::model {

// Multi-head attention whose q/k/v projections may shrink the width (embedding_dim /
// downsample_rate) before the heads split. Names: q_proj, k_proj, v_proj, out_proj.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t embedding_dim, int64_t num_heads, int64_t downsample_rate = 1);
  // q (B, Nq, C), k and v (B, Nk, C) -> (B, Nq, C).
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

 private:
  torch::Tensor separate_heads(const torch::Tensor& x) const;
  int64_t num_heads_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, out_proj_{nullptr};
};
TORCH_MODULE(Attention);

// The transformer's MLP block: lin1, ReLU, lin2.
class MLPBlockImpl : public torch::nn::Module {
 public:
  MLPBlockImpl(int64_t embedding_dim, int64_t mlp_dim);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear lin1_{nullptr}, lin2_{nullptr};
};
TORCH_MODULE(MLPBlock);

// One block: token self-attention, tokens attend to the image, MLP on tokens, image attends to
// tokens. The first block feeds the tokens' self-attention without positional encoding and
// without a residual (the reference's skip_first_layer_pe).
class TwoWayAttentionBlockImpl : public torch::nn::Module {
 public:
  TwoWayAttentionBlockImpl(int64_t embedding_dim, int64_t num_heads, int64_t mlp_dim,
                           int64_t attention_downsample_rate, bool skip_first_layer_pe);
  // Returns (queries, keys).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& queries,
                                                  const torch::Tensor& keys,
                                                  const torch::Tensor& query_pe,
                                                  const torch::Tensor& key_pe);

 private:
  bool skip_first_layer_pe_;
  Attention self_attn_{nullptr}, cross_attn_token_to_image_{nullptr},
      cross_attn_image_to_token_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr}, norm4_{nullptr};
  MLPBlock mlp_{nullptr};
};
TORCH_MODULE(TwoWayAttentionBlock);

// SAM's two-way transformer (the mask decoder's child "transformer"). Names: layers.N.*,
// final_attn_token_to_image, norm_final_attn.
class TwoWayTransformerImpl : public torch::nn::Module {
 public:
  TwoWayTransformerImpl(int64_t depth, int64_t embedding_dim, int64_t num_heads, int64_t mlp_dim,
                        int64_t attention_downsample_rate);
  // image_embedding and image_pe (B, C, H, W), point_embedding (B, N, C). Returns
  // (tokens (B, N, C), image (B, H*W, C)).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& image_embedding,
                                                  const torch::Tensor& image_pe,
                                                  const torch::Tensor& point_embedding);

 private:
  std::vector<TwoWayAttentionBlock> layers_;
  Attention final_attn_token_to_image_{nullptr};
  torch::nn::LayerNorm norm_final_attn_{nullptr};
};
TORCH_MODULE(TwoWayTransformer);

}  // namespace samri::model

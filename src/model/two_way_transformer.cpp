#include "samri/model/two_way_transformer.h"

#include <cmath>
#include <string>

#include "samri/core/error.h"
#include "samri/model/cpu_low_precision.h"

namespace samri::model {

namespace {

torch::nn::LayerNorm make_layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}));
}

}  // namespace

AttentionImpl::AttentionImpl(int64_t embedding_dim, int64_t num_heads, int64_t downsample_rate)
    : num_heads_(num_heads) {
  const int64_t internal_dim = embedding_dim / downsample_rate;
  if (internal_dim % num_heads != 0) {
    throw Error("attention: " + std::to_string(num_heads) + " heads do not divide width " +
                std::to_string(internal_dim));
  }
  q_proj_ = register_module("q_proj", torch::nn::Linear(embedding_dim, internal_dim));
  k_proj_ = register_module("k_proj", torch::nn::Linear(embedding_dim, internal_dim));
  v_proj_ = register_module("v_proj", torch::nn::Linear(embedding_dim, internal_dim));
  out_proj_ = register_module("out_proj", torch::nn::Linear(internal_dim, embedding_dim));
}

torch::Tensor AttentionImpl::separate_heads(const torch::Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), num_heads_, x.size(2) / num_heads_}).transpose(1, 2);
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v) {
  const torch::Tensor qh = separate_heads(q_proj_(q));
  const torch::Tensor kh = separate_heads(k_proj_(k));
  const torch::Tensor vh = separate_heads(v_proj_(v));
  const double scale = std::sqrt(static_cast<double>(qh.size(3)));
  const torch::Tensor attn = torch::softmax(torch::matmul(qh, kh.transpose(2, 3)) / scale, -1);
  const torch::Tensor out = torch::matmul(attn, vh).transpose(1, 2);  // (B, N, heads, c)
  return out_proj_(out.reshape({out.size(0), out.size(1), -1}));
}

MLPBlockImpl::MLPBlockImpl(int64_t embedding_dim, int64_t mlp_dim)
    : lin1_(register_module("lin1", torch::nn::Linear(embedding_dim, mlp_dim))),
      lin2_(register_module("lin2", torch::nn::Linear(mlp_dim, embedding_dim))) {}

torch::Tensor MLPBlockImpl::forward(const torch::Tensor& x) { return lin2_(torch::relu(lin1_(x))); }

TwoWayAttentionBlockImpl::TwoWayAttentionBlockImpl(int64_t embedding_dim, int64_t num_heads,
                                                   int64_t mlp_dim,
                                                   int64_t attention_downsample_rate,
                                                   bool skip_first_layer_pe)
    : skip_first_layer_pe_(skip_first_layer_pe) {
  // Registration order follows the reference so that state_dict order matches too.
  self_attn_ = register_module("self_attn", Attention(embedding_dim, num_heads));
  norm1_ = register_module("norm1", make_layer_norm(embedding_dim));
  cross_attn_token_to_image_ = register_module(
      "cross_attn_token_to_image", Attention(embedding_dim, num_heads, attention_downsample_rate));
  norm2_ = register_module("norm2", make_layer_norm(embedding_dim));
  mlp_ = register_module("mlp", MLPBlock(embedding_dim, mlp_dim));
  norm3_ = register_module("norm3", make_layer_norm(embedding_dim));
  norm4_ = register_module("norm4", make_layer_norm(embedding_dim));
  cross_attn_image_to_token_ = register_module(
      "cross_attn_image_to_token", Attention(embedding_dim, num_heads, attention_downsample_rate));
}

std::pair<torch::Tensor, torch::Tensor> TwoWayAttentionBlockImpl::forward(
    const torch::Tensor& queries_in, const torch::Tensor& keys_in, const torch::Tensor& query_pe,
    const torch::Tensor& key_pe) {
  torch::Tensor queries;
  if (skip_first_layer_pe_) {
    queries = self_attn_(queries_in, queries_in, queries_in);
  } else {
    const torch::Tensor q = queries_in + query_pe;
    queries = queries_in + self_attn_(q, q, queries_in);
  }
  queries = robust_layer_norm(*norm1_, queries);

  torch::Tensor keys = keys_in;
  queries = robust_layer_norm(
      *norm2_, queries + cross_attn_token_to_image_(queries + query_pe, keys + key_pe, keys));
  queries = robust_layer_norm(*norm3_, queries + mlp_(queries));

  // The image attends to the tokens: image positions are the queries of this attention.
  const torch::Tensor q = queries + query_pe;
  const torch::Tensor k = keys + key_pe;
  keys = robust_layer_norm(*norm4_, keys + cross_attn_image_to_token_(k, q, queries));
  return {queries, keys};
}

TwoWayTransformerImpl::TwoWayTransformerImpl(int64_t depth, int64_t embedding_dim,
                                             int64_t num_heads, int64_t mlp_dim,
                                             int64_t attention_downsample_rate) {
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < depth; ++i) {
    layers_.emplace_back(
        TwoWayAttentionBlock(embedding_dim, num_heads, mlp_dim, attention_downsample_rate, i == 0));
    list->push_back(layers_.back());
  }
  register_module("layers", list);
  final_attn_token_to_image_ = register_module(
      "final_attn_token_to_image", Attention(embedding_dim, num_heads, attention_downsample_rate));
  norm_final_attn_ = register_module("norm_final_attn", make_layer_norm(embedding_dim));
}

std::pair<torch::Tensor, torch::Tensor> TwoWayTransformerImpl::forward(
    const torch::Tensor& image_embedding, const torch::Tensor& image_pe,
    const torch::Tensor& point_embedding) {
  // (B, C, H, W) -> (B, HW, C): image positions become tokens.
  const torch::Tensor key_pe = image_pe.flatten(2).permute({0, 2, 1});
  torch::Tensor keys = image_embedding.flatten(2).permute({0, 2, 1});
  torch::Tensor queries = point_embedding;
  for (auto& layer : layers_) {
    std::tie(queries, keys) = layer(queries, keys, point_embedding, key_pe);
  }
  const torch::Tensor attn =
      final_attn_token_to_image_(queries + point_embedding, keys + key_pe, keys);
  queries = robust_layer_norm(*norm_final_attn_, queries + attn);
  return {queries, keys};
}

}  // namespace samri::model

#include "samri/model/vit_block.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/record_function.h>

#include "samri/core/error.h"
#include "samri/model/cpu_low_precision.h"

namespace samri::model {
namespace {

// Inference overwrites fresh intermediate buffers (the 4096^2 attention maps of global blocks are
// 64 MiB per head); while autograd records through a tensor, its value must stay intact.
bool may_overwrite(const torch::Tensor& t) { return !t.requires_grad(); }

bool records_gradient(const torch::Tensor& x, const Linear& layer) {
  return model::records_gradient(x, layer->weight) ||
         (layer->bias.defined() && model::records_gradient(x, layer->bias));
}

// LibTorch sends float32 CPU linear layers to the system BLAS (OpenBLAS on Debian), several times
// slower than its bundled oneDNN on these shapes, and the linear layers are ~3/4 of the encoder's
// FLOPs. For inference, a 1x1 convolution over a channels-last (1, in, 1, rows) view of x is the
// same product computed by oneDNN straight from and into plain buffers (no layout conversions).
// Other dtypes and devices already get a fast kernel from layer->forward (bf16 goes to oneDNN).
// x (..., in) times weight (out, in) transposed, plus bias when defined, by oneDNN: a 1x1
// convolution over a channels-last (1, in, 1, rows) view of x, computed straight from and into
// plain buffers (no layout conversions).
torch::Tensor onednn_product(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias) {
  const int64_t in = x.size(-1), out = weight.size(0);
  const auto image = x.reshape({1, 1, -1, in}).permute({0, 3, 1, 2});
  // An undefined bias converts to an optional that ATen reads as "no bias" (c10::optional in
  // LibTorch 1.13, std::optional in 2.x: the conversion spares naming either).
  const auto y =
      at::mkldnn_convolution(image, weight.view({out, in, 1, 1}), bias, {0, 0}, {1, 1}, {1, 1}, 1);
  auto sizes = x.sizes().vec();
  sizes.back() = out;
  return y.permute({0, 2, 3, 1}).reshape(sizes);
}

bool onednn_runs_float(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn() && x.numel() > 0;
}

// LibTorch sends float32 CPU linear layers to the system BLAS (OpenBLAS on Debian), several times
// slower than its bundled oneDNN on these shapes, and the linear layers are ~3/4 of the encoder's
// FLOPs. Other dtypes and devices already get a fast kernel from layer->forward (bf16 goes to
// oneDNN).
torch::Tensor linear(Linear& layer, const torch::Tensor& x) {
  if (!onednn_runs_float(x) || records_gradient(x, layer)) return layer->forward(x);
  return onednn_product(x, layer->weight, layer->bias);
}

struct Windows {
  torch::Tensor tokens;  // (B * windows, ws, ws, C)
  int64_t padded_h;
  int64_t padded_w;
};

Windows window_partition(const torch::Tensor& x, int64_t ws) {
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  const int64_t pad_h = (ws - h % ws) % ws, pad_w = (ws - w % ws) % ws;
  const auto padded =
      (pad_h > 0 || pad_w > 0) ? torch::constant_pad_nd(x, {0, 0, 0, pad_w, 0, pad_h}, 0) : x;
  const int64_t hp = h + pad_h, wp = w + pad_w;
  auto tokens = padded.view({b, hp / ws, ws, wp / ws, ws, c})
                    .permute({0, 1, 3, 2, 4, 5})
                    .reshape({-1, ws, ws, c});
  return {tokens, hp, wp};
}

// Back to (B, H, W, C); the crop stays a view because the residual add that follows makes the
// contiguous result anyway.
torch::Tensor window_unpartition(const torch::Tensor& windows, int64_t ws, const Windows& layout,
                                 int64_t h, int64_t w) {
  const int64_t hp = layout.padded_h, wp = layout.padded_w;
  const int64_t b = windows.size(0) / ((hp / ws) * (wp / ws));
  auto x = windows.view({b, hp / ws, wp / ws, ws, ws, -1})
               .permute({0, 1, 3, 2, 4, 5})
               .reshape({b, hp, wp, -1});
  return (hp > h || wp > w) ? x.narrow(1, 0, h).narrow(2, 0, w) : x;
}

torch::Tensor resize_table(const torch::Tensor& rel_pos, int64_t length) {
  namespace F = torch::nn::functional;
  // Interpolated in float32: the table is tiny and not every backend has reduced-precision
  // 1-D upsampling.
  const auto channels_first = rel_pos.to(torch::kFloat).t().unsqueeze(0);  // (1, C, L)
  const auto resized = F::interpolate(channels_first, F::InterpolateFuncOptions()
                                                          .size(std::vector<int64_t>{length})
                                                          .mode(torch::kLinear)
                                                          .align_corners(false));
  return resized.squeeze(0).t().to(rel_pos.scalar_type());
}

}  // namespace

torch::Tensor get_rel_pos(int64_t q_size, int64_t k_size, const torch::Tensor& rel_pos) {
  if (q_size < 1 || k_size < 1 || rel_pos.dim() != 2) {
    throw Error("get_rel_pos: expected positive sizes and a (length, head_dim) table");
  }
  const int64_t max_rel_dist = 2 * std::max(q_size, k_size) - 1;
  const auto table =
      rel_pos.size(0) == max_rel_dist ? rel_pos : resize_table(rel_pos, max_rel_dist);
  // The reference forms the coordinates in float32 and truncates them; doing the same picks the
  // same rows when q and k differ in size (the scales are then not integers).
  const double q_scale = std::max(static_cast<double>(k_size) / q_size, 1.0);
  const double k_scale = std::max(static_cast<double>(q_size) / k_size, 1.0);
  // Built with tensor ops on the table's device: a host-built index would be a synchronous copy
  // to the GPU in every block's forward.
  const auto coords = torch::TensorOptions().dtype(torch::kFloat).device(table.device());
  const auto q_coords = torch::arange(q_size, coords).unsqueeze(1) * q_scale;
  const auto k_coords = torch::arange(k_size, coords).unsqueeze(0) * k_scale;
  const auto rows = ((q_coords - k_coords) + (k_size - 1) * k_scale).to(torch::kLong).flatten();
  return table.index_select(0, rows).view({q_size, k_size, table.size(1)});
}

VitAttentionImpl::VitAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias, bool use_rel_pos,
                                   std::array<int64_t, 2> input_size, WeightInit init)
    : num_heads_(num_heads), use_rel_pos_(use_rel_pos) {
  if (num_heads < 1 || dim % num_heads != 0) {
    throw Error("ViT attention: embed dim " + std::to_string(dim) +
                " is not divisible by the number of heads " + std::to_string(num_heads));
  }
  const int64_t head_dim = dim / num_heads;
  scale_ = std::pow(static_cast<double>(head_dim), -0.5);
  qkv_ = register_module("qkv", Linear(dim, 3 * dim, qkv_bias, init));
  proj_ = register_module("proj", Linear(dim, dim, true, init));
  if (use_rel_pos) {
    rel_pos_h_ = register_parameter("rel_pos_h", torch::zeros({2 * input_size[0] - 1, head_dim}));
    rel_pos_w_ = register_parameter("rel_pos_w", torch::zeros({2 * input_size[1] - 1, head_dim}));
  }
}

// The decomposed relative-position terms, each contiguous. Uses the unscaled q, as the reference
// does.
VitAttentionImpl::RelPosTerms VitAttentionImpl::rel_pos_terms(const torch::Tensor& q, int64_t h,
                                                              int64_t w) const {
  const int64_t bh = q.size(0), head_dim = q.size(2);
  const auto rh = get_rel_pos(h, h, rel_pos_h_);  // (query row, key row, head_dim)
  const auto rw = get_rel_pos(w, w, rel_pos_w_);  // (query col, key col, head_dim)
  const auto grid = q.view({bh, h, w, head_dim});
  // rel_h[b, y, x, ky] = <q[b, y, x], Rh[y, ky]>: one matmul per query row (rel_w: per column).
  auto rows =
      torch::bmm(grid.permute({1, 0, 2, 3}).reshape({h, bh * w, head_dim}), rh.transpose(1, 2))
          .view({h, bh, w, h})
          .permute({1, 0, 2, 3})
          .contiguous();
  auto columns =
      torch::bmm(grid.permute({2, 0, 1, 3}).reshape({w, bh * h, head_dim}), rw.transpose(1, 2))
          .view({w, bh, h, w})
          .permute({1, 2, 0, 3})
          .contiguous();
  return {std::move(rows), std::move(columns)};
}

// The relative-position terms summed into a (B * heads, H * W, H * W) tensor, ready to have the
// scaled q k^T product accumulated into it.
torch::Tensor VitAttentionImpl::rel_pos_logits(const torch::Tensor& q, int64_t h, int64_t w) const {
  // A named scope in LibTorch's profiler, for the encoder's time budget (encoder_roofline.sh).
  RECORD_FUNCTION("samri::rel_pos_logits", std::vector<c10::IValue>());
  const int64_t bh = q.size(0);
  const auto terms = rel_pos_terms(q, h, w);
  const auto& rel_h = terms.rows;
  const auto& rel_w = terms.columns;
  // Both operands are laid out (b, y, x, k), so the broadcast sum comes out contiguous and the
  // reshape is a view.
  if (reuse_scratch(q, rel_h, rel_w)) {
    auto logits = scratch_->take({bh, h, w, h, w}, q.options());
    at::add_out(logits, rel_h.unsqueeze(-1), rel_w.unsqueeze(-2));
    return logits.view({bh, h * w, h * w});
  }
  return (rel_h.unsqueeze(-1) + rel_w.unsqueeze(-2)).reshape({bh, h * w, h * w});
}

// Global attention over a 64x64 grid builds 12 x 4096 x 4096 logits per image (800 MB in float32):
// written, read by the softmax, written again and read by the product with v, each pass from
// main memory, and on a fresh process all of it first-touched memory. Inference on a CPU instead
// streams them through a cache-sized tile of query rows, one head at a time. Each query row's
// logits, softmax and output are the same operations on the same values as in the batched path.
namespace {
int64_t tile_queries() {
  static const int64_t queries = [] {
    const char* value = std::getenv("SAMRI_ATTENTION_TILE");
    return value ? std::max<int64_t>(0, std::atoll(value)) : 512;
  }();
  return queries;
}
}  // namespace

bool VitAttentionImpl::streams_logits(const torch::Tensor& q) const {
  constexpr int64_t kMinTokens = 1024;  // windowed blocks (196 tokens) stay batched
  const bool grad =
      q.requires_grad() || (use_rel_pos_ && torch::GradMode::is_enabled() &&
                            (rel_pos_h_.requires_grad() || rel_pos_w_.requires_grad()));
  return tile_queries() > 0 && q.device().is_cpu() && !grad && q.size(1) >= kMinTokens;
}

// In float32 the products go to oneDNN, like the linear layers: OpenBLAS would compute them on
// its own thread pool, and handing the cores from pool to pool around every tile's softmax cost
// more than the tiling saved (6.9 s against 5.0 s per ViT-B slice on 2 cores).
torch::Tensor VitAttentionImpl::streamed_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                   const torch::Tensor& v, int64_t h,
                                                   int64_t w) const {
  const int64_t batch_heads = q.size(0), tokens = q.size(1);
  const int64_t grid_rows = std::clamp<int64_t>(tile_queries() / w, 1, h);
  const bool onednn = onednn_runs_float(q);
  RelPosTerms terms;
  if (use_rel_pos_) {
    RECORD_FUNCTION("samri::rel_pos_logits", std::vector<c10::IValue>());
    terms = rel_pos_terms(q, h, w);
  }
  const auto q_scaled = use_rel_pos_ ? q : q * scale_;
  const auto v_by_channel = onednn ? v.transpose(1, 2).contiguous() : v;
  auto out = torch::empty_like(q);
  auto tile = torch::empty({grid_rows * w, tokens}, q.options());
  for (int64_t i = 0; i < batch_heads; ++i) {
    for (int64_t y = 0; y < h; y += grid_rows) {
      const int64_t rows = std::min(grid_rows, h - y);
      auto logits = tile.narrow(0, 0, rows * w);
      const auto queries = q_scaled[i].narrow(0, y * w, rows * w);
      if (use_rel_pos_) {
        RECORD_FUNCTION("samri::rel_pos_logits", std::vector<c10::IValue>());
        auto grid_logits = logits.view({rows, w, h, w});
        at::add_out(grid_logits, terms.rows[i].narrow(0, y, rows).unsqueeze(-1),
                    terms.columns[i].narrow(0, y, rows).unsqueeze(-2));
      }
      const double beta = use_rel_pos_ ? 1.0 : 0.0, alpha = use_rel_pos_ ? scale_ : 1.0;
      if (onednn) {
        // Not mul_(beta): the tile still holds the previous softmax, or garbage on first use.
        const auto product = onednn_product(queries, k[i], {});
        use_rel_pos_ ? logits.add_(product, alpha) : logits.copy_(product);
      } else {
        logits.addmm_(queries, k[i].t(), beta, alpha);
      }
      at::_softmax_out(logits, logits, -1, false);
      auto out_rows = out[i].narrow(0, y * w, rows * w);
      if (onednn) {
        out_rows.copy_(onednn_product(logits, v_by_channel[i], {}));
      } else {
        at::mm_out(out_rows, logits, v[i]);
      }
    }
  }
  return out;
}

// Only where nothing records the logits for autograd; on GPUs the caching allocator does the job.
bool VitAttentionImpl::reuse_scratch(const torch::Tensor& q, const torch::Tensor& rel_h,
                                     const torch::Tensor& rel_w) const {
  return scratch_ && scratch_->held_by_this_thread() && q.device().is_cpu() && !q.requires_grad() &&
         !rel_h.requires_grad() && !rel_w.requires_grad();
}

torch::Tensor VitAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  const int64_t tokens = h * w, batch_heads = b * num_heads_;
  // One copy to (3, B * heads, tokens, head_dim) makes q, k and v contiguous batches for bmm.
  const auto qkv = linear(qkv_, x)
                       .view({b, tokens, 3, num_heads_, -1})
                       .permute({2, 0, 3, 1, 4})
                       .reshape({3, batch_heads, tokens, -1});
  const auto q = qkv[0], k = qkv[1], v = qkv[2];
  const auto out =
      streams_logits(q) ? streamed_attention(q, k, v, h, w) : batched_attention(q, k, v, h, w);
  return linear(proj_,
                out.view({b, num_heads_, h, w, -1}).permute({0, 2, 3, 1, 4}).reshape({b, h, w, c}));
}

// All heads' logits at once: what autograd, GPUs and the small windows take.
torch::Tensor VitAttentionImpl::batched_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                  const torch::Tensor& v, int64_t h,
                                                  int64_t w) const {
  const int64_t batch_heads = q.size(0), tokens = q.size(1);
  // The logits start as the relative-position bias and the product accumulates into them; the
  // softmax then runs in place unless autograd needs the logits.
  torch::Tensor attn;
  if (use_rel_pos_) {
    attn = rel_pos_logits(q, h, w).baddbmm_(q, k.transpose(1, 2), 1.0, scale_);
  } else if (reuse_scratch(q, {}, {})) {
    attn = scratch_->take({batch_heads, tokens, tokens}, q.options());
    at::bmm_out(attn, q * scale_, k.transpose(1, 2));
  } else {
    attn = torch::bmm(q * scale_, k.transpose(1, 2));
  }
  if (may_overwrite(attn)) {
    at::_softmax_out(attn, attn, -1, false);
  } else {
    attn = torch::softmax(attn, -1);
  }
  return torch::bmm(attn, v);
}

VitMlpImpl::VitMlpImpl(int64_t dim, int64_t hidden_dim, WeightInit init)
    : lin1_(register_module("lin1", Linear(dim, hidden_dim, true, init))),
      lin2_(register_module("lin2", Linear(hidden_dim, dim, true, init))) {}

torch::Tensor VitMlpImpl::forward(const torch::Tensor& x) {
  auto hidden = linear(lin1_, x);
  if (may_overwrite(hidden)) {
    at::gelu_out(hidden, hidden);
  } else {
    hidden = torch::gelu(hidden);
  }
  return linear(lin2_, hidden);
}

VitBlockImpl::VitBlockImpl(const VitBlockOptions& options) : window_size_(options.window_size) {
  const auto norm = torch::nn::LayerNormOptions({options.dim}).eps(options.layer_norm_eps);
  const std::array<int64_t, 2> attn_grid =
      window_size_ > 0 ? std::array<int64_t, 2>{window_size_, window_size_} : options.grid_size;
  norm1_ = register_module("norm1", torch::nn::LayerNorm(norm));
  attn_ = register_module("attn", VitAttention(options.dim, options.num_heads, options.qkv_bias,
                                               options.use_rel_pos, attn_grid, options.init));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(norm));
  // int() of the product, as the reference builds the hidden width.
  const auto hidden = static_cast<int64_t>(static_cast<double>(options.dim) * options.mlp_ratio);
  mlp_ = register_module("mlp", VitMlp(options.dim, hidden, options.init));
}

torch::Tensor VitBlockImpl::forward(const torch::Tensor& x) {
  auto y = robust_layer_norm(*norm1_, x);
  if (window_size_ > 0) {
    const auto windows = window_partition(y, window_size_);
    y = window_unpartition(attn_(windows.tokens), window_size_, windows, x.size(1), x.size(2));
  } else {
    y = attn_(y);
  }
  const auto mid = x + y;
  // The MLP output is fresh and not saved for backward, so the residual can go into it.
  return mlp_(robust_layer_norm(*norm2_, mid)).add_(mid);
}

}  // namespace samri::model

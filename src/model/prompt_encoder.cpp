#include "samri/model/prompt_encoder.h"

#include <string>

#include "samri/core/error.h"
#include "samri/model/layer_norm_2d.h"

namespace samri::model {

namespace {

constexpr double kPi = 3.14159265358979323846;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride));
}

int64_t batch_size(const std::optional<std::pair<torch::Tensor, torch::Tensor>>& points,
                   const std::optional<torch::Tensor>& boxes,
                   const std::optional<torch::Tensor>& masks) {
  if (points) return points->first.size(0);
  if (boxes) return boxes->size(0);
  if (masks) return masks->size(0);
  return 1;
}

}  // namespace

PositionEmbeddingRandomImpl::PositionEmbeddingRandomImpl(int64_t num_pos_feats)
    : gaussian_matrix_(register_buffer("positional_encoding_gaussian_matrix",
                                       torch::randn({2, num_pos_feats}))) {}

torch::Tensor PositionEmbeddingRandomImpl::encode(const torch::Tensor& unit_coords) {
  torch::Tensor c = 2 * unit_coords - 1;
  c = torch::matmul(c, gaussian_matrix_);
  c = c * (2 * kPi);
  return torch::cat({torch::sin(c), torch::cos(c)}, -1);
}

torch::Tensor PositionEmbeddingRandomImpl::forward(int64_t height, int64_t width) {
  const auto options = gaussian_matrix_.options();
  const torch::Tensor y = (torch::arange(height, options) + 0.5) / static_cast<double>(height);
  const torch::Tensor x = (torch::arange(width, options) + 0.5) / static_cast<double>(width);
  const auto grid = torch::meshgrid({y, x}, "ij");
  return encode(torch::stack({grid[1], grid[0]}, -1)).permute({2, 0, 1});
}

torch::Tensor PositionEmbeddingRandomImpl::forward_with_coords(const torch::Tensor& coords,
                                                               std::array<int, 2> image_size) {
  const torch::Tensor scale =
      torch::tensor({static_cast<float>(image_size[1]), static_cast<float>(image_size[0])},
                    coords.options().dtype(torch::kFloat));
  return encode(coords.to(torch::kFloat) / scale);
}

PromptEncoderImpl::PromptEncoderImpl(const PromptEncoderConfig& config) : config_(config) {
  const int64_t dim = config.embed_dim;
  if (dim % 2 != 0)
    throw Error("prompt encoder embed_dim must be even, got " + std::to_string(dim));
  pe_layer_ = register_module("pe_layer", PositionEmbeddingRandom(dim / 2));
  torch::nn::ModuleList list;
  for (int i = 0; i < 4; ++i) {
    point_embeddings_.emplace_back(torch::nn::Embedding(1, dim));
    list->push_back(point_embeddings_.back());
  }
  register_module("point_embeddings", list);
  not_a_point_embed_ = register_module("not_a_point_embed", torch::nn::Embedding(1, dim));
  const int64_t chans = config.mask_in_chans;
  // The GELUs keep their slots (2 and 5) so that the convs and norms get the reference indices.
  mask_downscaling_ = register_module(
      "mask_downscaling",
      torch::nn::Sequential(conv(1, chans / 4, 2, 2), LayerNorm2d(chans / 4), torch::nn::GELU(),
                            conv(chans / 4, chans, 2, 2), LayerNorm2d(chans), torch::nn::GELU(),
                            conv(chans, dim, 1, 1)));
  no_mask_embed_ = register_module("no_mask_embed", torch::nn::Embedding(1, dim));
}

torch::Tensor PromptEncoderImpl::get_dense_pe() {
  // Loading weights writes the matrix in place (a new version), moving the module to another
  // device or cloning it makes a new tensor: either way the cached encoding is stale.
  const torch::Tensor& matrix = pe_layer_->gaussian_matrix();
  const auto version = static_cast<std::uint32_t>(matrix._version());
  if (!dense_pe_.value.defined() || dense_pe_.matrix != matrix.data_ptr() ||
      dense_pe_.version != version) {
    torch::NoGradGuard no_grad;
    const auto& size = config_.image_embedding_size;
    dense_pe_ = {pe_layer_->forward(size[0], size[1]).unsqueeze(0), matrix.data_ptr(), version};
  }
  return dense_pe_.value;
}

torch::Tensor PromptEncoderImpl::embed_points(const torch::Tensor& coords,
                                              const torch::Tensor& labels, bool pad) {
  torch::Tensor c = coords.to(torch::kFloat) + 0.5;  // pixel centres
  torch::Tensor l = labels;
  if (pad) {
    c = torch::cat({c, torch::zeros({c.size(0), 1, 2}, c.options())}, 1);
    l = torch::cat({l, torch::full({l.size(0), 1}, -1, l.options())}, 1);
  }
  torch::Tensor pe = pe_layer_->forward_with_coords(c, config_.input_image_size);
  l = l.unsqueeze(-1);
  // torch::where rather than masked arithmetic, so a pad point is exactly not_a_point_embed.
  pe = torch::where(l == -1, not_a_point_embed_->weight.expand_as(pe), pe);
  pe = torch::where(l == 0, pe + point_embeddings_[0]->weight, pe);
  pe = torch::where(l == 1, pe + point_embeddings_[1]->weight, pe);
  return pe;
}

torch::Tensor PromptEncoderImpl::embed_boxes(const torch::Tensor& boxes) {
  const torch::Tensor corners = (boxes.to(torch::kFloat) + 0.5).reshape({-1, 2, 2});
  const torch::Tensor pe = pe_layer_->forward_with_coords(corners, config_.input_image_size);
  const torch::Tensor corner_embed =
      torch::cat({point_embeddings_[2]->weight, point_embeddings_[3]->weight}, 0);
  return pe + corner_embed;
}

torch::Tensor PromptEncoderImpl::dense_embedding(const std::optional<torch::Tensor>& masks,
                                                 int64_t batch) {
  if (masks) return mask_downscaling_->forward(*masks);
  const auto& size = config_.image_embedding_size;
  return no_mask_embed_->weight.reshape({1, -1, 1, 1}).expand({batch, -1, size[0], size[1]});
}

std::pair<torch::Tensor, torch::Tensor> PromptEncoderImpl::forward(
    const std::optional<std::pair<torch::Tensor, torch::Tensor>>& points,
    const std::optional<torch::Tensor>& boxes, const std::optional<torch::Tensor>& masks) {
  const int64_t batch = batch_size(points, boxes, masks);
  const auto& weight = no_mask_embed_->weight;
  torch::Tensor sparse = torch::empty({batch, 0, config_.embed_dim}, weight.options());
  if (points) {
    if (points->first.dim() != 3 || points->first.size(2) != 2 || points->second.dim() != 2 ||
        points->second.size(1) != points->first.size(1)) {
      throw Error("prompt encoder: points must be coords (B, N, 2) with labels (B, N)");
    }
    sparse = torch::cat({sparse, embed_points(points->first, points->second, !boxes)}, 1);
  }
  if (boxes) {
    if (boxes->size(-1) != 4) throw Error("prompt encoder: boxes must be (B, 4) xyxy");
    sparse = torch::cat({sparse, embed_boxes(*boxes)}, 1);
  }
  return {sparse, dense_embedding(masks, batch)};
}

}  // namespace samri::model

#include "samri/model/image_encoder.h"

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

#include "samri/core/error.h"
#include "samri/model/layer_norm_2d.h"

namespace samri::model {
namespace {

VitBlockOptions block_options(const ImageEncoderConfig& c, int index, WeightInit init) {
  const bool global = std::find(c.global_attn_indexes.begin(), c.global_attn_indexes.end(),
                                index) != c.global_attn_indexes.end();
  const int64_t grid = c.img_size / c.patch_size;
  VitBlockOptions options;
  options.dim = c.embed_dim;
  options.num_heads = c.num_heads;
  options.mlp_ratio = c.mlp_ratio;
  options.qkv_bias = c.qkv_bias;
  options.use_rel_pos = c.use_rel_pos;
  options.window_size = global ? 0 : c.window_size;
  options.grid_size = {grid, grid};
  options.layer_norm_eps = c.layer_norm_eps;
  options.init = init;
  return options;
}

}  // namespace

ImageEncoderViTImpl::ImageEncoderViTImpl(const ImageEncoderConfig& config, WeightInit init)
    : config_(config) {
  check_encoder_config(config_, "image encoder");
  namespace nn = torch::nn;
  const int64_t grid = config_.img_size / config_.patch_size;
  // PatchEmbed has no parameters of its own; a plain holder gives the "patch_embed.proj" names.
  auto patch_embed = register_module("patch_embed", std::make_shared<nn::Module>());
  patch_proj_ = patch_embed->register_module(
      "proj", nn::Conv2d(nn::Conv2dOptions(config_.in_chans, config_.embed_dim, config_.patch_size)
                             .stride(config_.patch_size)));
  pos_embed_ =
      register_parameter("pos_embed", torch::zeros({1, grid, grid, int64_t{config_.embed_dim}}));
  auto blocks = register_module("blocks", nn::ModuleList());
  for (int i = 0; i < config_.depth; ++i) {
    blocks_.push_back(VitBlock(block_options(config_, i, init)));
    blocks_.back()->share_scratch(scratch_);
    blocks->push_back(blocks_.back());
  }
  // The neck's LayerNorm2d uses its own default eps (1e-6), not the blocks' layer_norm_eps.
  neck_ = register_module(
      "neck",
      nn::Sequential(
          nn::Conv2d(nn::Conv2dOptions(config_.embed_dim, config_.out_chans, 1).bias(false)),
          LayerNorm2d(config_.out_chans),
          nn::Conv2d(
              nn::Conv2dOptions(config_.out_chans, config_.out_chans, 3).padding(1).bias(false)),
          LayerNorm2d(config_.out_chans)));
}

torch::Tensor ImageEncoderViTImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != config_.in_chans || x.size(2) != config_.img_size ||
      x.size(3) != config_.img_size) {
    std::ostringstream message;
    message << "image encoder: expected input (B, " << config_.in_chans << ", " << config_.img_size
            << ", " << config_.img_size << "), got " << x.sizes();
    throw Error(message.str());
  }
  // Channels-last tokens (B, H, W, C) inside the blocks; contiguous() copies the permuted conv
  // output, so the in-place add touches only this function's own buffer.
  auto tokens = patch_proj_(x).permute({0, 2, 3, 1}).contiguous().add_(pos_embed_);
  // The blocks reuse the scratch memory only under this lease; a forward running on another thread
  // meanwhile gets fresh memory.
  const ScratchBuffer::Lease scratch_lease(*scratch_);
  for (auto& block : blocks_) tokens = block(tokens);
  // Contiguous (B, C, H, W), whatever memory format the convolutions picked for the permuted map.
  return neck_->forward(tokens.permute({0, 3, 1, 2})).contiguous();
}

}  // namespace samri::model

#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "samri/model/sam_config.h"
#include "samri/model/vit_block.h"

namespace samri::model {

// SAM's ViT image encoder (windowed + global attention, relative positions, neck). Children are
// registered under the official state_dict names: patch_embed.proj, pos_embed, blocks.N.{norm1,
// attn.qkv, attn.proj, attn.rel_pos_h, attn.rel_pos_w, norm2, mlp.lin1, mlp.lin2}, neck.{0,1,2,3}.
class ImageEncoderViTImpl : public torch::nn::Module {
 public:
  // WeightInit::kNone leaves the blocks' linear layers (all but ~2% of the weights) unset, for a
  // checkpoint to fill.
  explicit ImageEncoderViTImpl(const ImageEncoderConfig& config,
                               WeightInit init = WeightInit::kRandom);
  // (B, 3, img_size, img_size) normalised image -> (B, out_chans, img_size/16, img_size/16).
  torch::Tensor forward(const torch::Tensor& x);
  const ImageEncoderConfig& config() const { return config_; }
  // The blocks' shared scratch memory for CPU inference (see ScratchBuffer): kept between calls,
  // freed by release_scratch() (not while a forward runs).
  int64_t scratch_bytes() const { return scratch_->bytes(); }
  void release_scratch() { scratch_->release(); }

 private:
  ImageEncoderConfig config_;
  torch::nn::Conv2d patch_proj_{nullptr};  // registered as patch_embed.proj
  torch::Tensor pos_embed_;                // (1, grid, grid, embed_dim)
  std::vector<VitBlock> blocks_;           // also registered as the ModuleList "blocks"
  torch::nn::Sequential neck_{nullptr};
  std::shared_ptr<ScratchBuffer> scratch_ = std::make_shared<ScratchBuffer>();
};
TORCH_MODULE(ImageEncoderViT);

}  // namespace samri::model

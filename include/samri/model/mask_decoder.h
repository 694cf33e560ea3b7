#pragma once

#include <utility>

#include <torch/torch.h>

#include "samri/model/sam_config.h"

namespace samri::model {

// SAM's mask decoder with its two-way transformer (two_way_transformer.h). Registered names:
// transformer.*, iou_token, mask_tokens, output_upscaling.{0,1,3}, output_hypernetworks_mlps.N.layers.M,
// iou_prediction_head.layers.M.
class MaskDecoderImpl : public torch::nn::Module {
 public:
  explicit MaskDecoderImpl(const MaskDecoderConfig& config);
  // image_embeddings (1 or B, C, H, W); image_pe (1, C, H, W); sparse (B, K, C); dense (B, C, H, W).
  // One embedding with B prompts repeats the embedding per prompt (the reference); B embeddings
  // with B prompts pair them one to one (the fine-tuning path). Returns (masks (B, M, 4H, 4W),
  // iou (B, M)) with M = 1, or 3 when multimask_output.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& image_embeddings,
                                                  const torch::Tensor& image_pe,
                                                  const torch::Tensor& sparse_prompt_embeddings,
                                                  const torch::Tensor& dense_prompt_embeddings,
                                                  bool multimask_output);
  const MaskDecoderConfig& config() const { return config_; }

 private:
  MaskDecoderConfig config_;
};
TORCH_MODULE(MaskDecoder);

}  // namespace samri::model

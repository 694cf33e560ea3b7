#pragma once

#include <utility>
#include <vector>

#include <torch/torch.h>

#include "samri/model/mlp.h"
#include "samri/model/sam_config.h"
#include "samri/model/two_way_transformer.h"

namespace samri::model {

// SAM's mask decoder with its two-way transformer (two_way_transformer.h). Registered names:
// transformer.*, iou_token, mask_tokens, output_upscaling.{0,1,3},
// output_hypernetworks_mlps.N.layers.M, iou_prediction_head.layers.M.
class MaskDecoderImpl : public torch::nn::Module {
 public:
  explicit MaskDecoderImpl(const MaskDecoderConfig& config);
  // image_embeddings (1 or B, C, H, W); image_pe (1, C, H, W); sparse (B, K, C); dense (B, C, H,
  // W). One embedding with B prompts repeats the embedding per prompt (the reference); B embeddings
  // with B prompts pair them one to one (the fine-tuning path). Returns (masks (B, M, 4H, 4W),
  // iou (B, M)) with M = 1, or 3 when multimask_output.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& image_embeddings,
                                                  const torch::Tensor& image_pe,
                                                  const torch::Tensor& sparse_prompt_embeddings,
                                                  const torch::Tensor& dense_prompt_embeddings,
                                                  bool multimask_output);

 private:
  // All num_mask_tokens outputs, before the single/multi selection.
  std::pair<torch::Tensor, torch::Tensor> predict_masks(const torch::Tensor& image_embeddings,
                                                        const torch::Tensor& image_pe,
                                                        const torch::Tensor& sparse,
                                                        const torch::Tensor& dense);
  // output_upscaling: (B, C, H, W) -> (B, C/8, 4H, 4W).
  torch::Tensor upscale(const torch::Tensor& x);
  // (B, num_mask_tokens, C) transformer outputs -> (B, num_mask_tokens, C/8) mask weights.
  torch::Tensor hypernetwork_weights(const torch::Tensor& mask_tokens_out);

  int64_t num_mask_tokens_;
  TwoWayTransformer transformer_{nullptr};
  torch::nn::Embedding iou_token_{nullptr};
  torch::nn::Embedding mask_tokens_{nullptr};
  torch::nn::Sequential output_upscaling_{nullptr};
  std::vector<MLP> output_hypernetworks_mlps_;
  MLP iou_prediction_head_{nullptr};
};
TORCH_MODULE(MaskDecoder);

}  // namespace samri::model

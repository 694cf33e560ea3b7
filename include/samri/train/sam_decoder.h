#pragma once

#include <string>

#include <torch/torch.h>

#include "samri/model/mask_decoder.h"
#include "samri/model/prompt_encoder.h"
#include "samri/model/sam_config.h"
#include "samri/model/state_dict.h"

namespace samri::train {

// The part of SAM that training runs: the prompt encoder (frozen) and the mask decoder, registered
// under SAM's names (prompt_encoder.*, mask_decoder.*), so that their state_dict keys are the
// official checkpoint's. The image encoder is never built: training reads stored embeddings.
class SamDecoderImpl : public torch::nn::Module {
 public:
  explicit SamDecoderImpl(const model::SamConfig& config);

  // Low-res mask logits (B, 1, 4H, 4W) of B embeddings (B, C, H, W) with B boxes (B, 4) and, when
  // defined, one positive point each (B, 1, 2), in the input frame. The prompt encoder runs
  // without gradient and in float32; the decoder in the dtype of its parameters.
  torch::Tensor forward(const torch::Tensor& embeddings, const torch::Tensor& boxes,
                        const torch::Tensor& points);
  // forward's logits and the decoder's predicted IoU (B, 1) of each mask.
  std::pair<torch::Tensor, torch::Tensor> forward_with_iou(const torch::Tensor& embeddings,
                                                           const torch::Tensor& boxes,
                                                           const torch::Tensor& points);

  const model::SamConfig& config() const { return config_; }
  model::PromptEncoder prompt_encoder{nullptr};
  model::MaskDecoder mask_decoder{nullptr};

 private:
  model::SamConfig config_;
};
TORCH_MODULE(SamDecoder);

// Loads the prompt_encoder.* and mask_decoder.* tensors of `weights` strictly (every key of both
// modules present with its shape; the image_encoder.* tensors are ignored). `source` names the
// file in messages.
void load_decoder_weights(SamDecoderImpl& decoder, const model::StateDict& weights,
                          const std::string& source);

// `base` with its mask_decoder.* tensors replaced by `decoder`'s (float32, on the CPU): a full SAM
// state_dict in the official key order, the encoder and prompt-encoder tensors passed through.
model::StateDict with_trained_decoder(const model::StateDict& base, const SamDecoderImpl& decoder);

}  // namespace samri::train

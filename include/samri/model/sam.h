#pragma once

#include <array>

#include <torch/torch.h>

#include "samri/model/image_encoder.h"
#include "samri/model/mask_decoder.h"
#include "samri/model/prompt_encoder.h"
#include "samri/model/sam_config.h"

namespace samri::model {

// The whole SAM: children image_encoder, prompt_encoder, mask_decoder (so named_parameters()
// and named_buffers() give exactly the official state_dict keys). pixel_mean/std are not
// registered: the official checkpoints do not store them.
class SamImpl : public torch::nn::Module {
 public:
  // `init` applies to the image encoder (see ImageEncoderViTImpl).
  explicit SamImpl(const SamConfig& config, WeightInit init = WeightInit::kRandom);

  // Reference post-processing of low-res logits (B, M, 4H, 4W): bilinear to img_size, crop to
  // input_size, bilinear to original_size (align_corners=false). Returns (B, M, oh, ow) logits.
  torch::Tensor postprocess_masks(const torch::Tensor& low_res, std::array<int, 2> input_size,
                                  std::array<int, 2> original_size) const;

  const SamConfig& config() const { return config_; }

  ImageEncoderViT image_encoder{nullptr};
  PromptEncoder prompt_encoder{nullptr};
  MaskDecoder mask_decoder{nullptr};

 private:
  SamConfig config_;
};
TORCH_MODULE(Sam);

// SamImpl::postprocess_masks without a model: for decoders run on stored embeddings.
torch::Tensor postprocess_mask_logits(const torch::Tensor& low_res, int img_size,
                                      std::array<int, 2> input_size,
                                      std::array<int, 2> original_size);

}  // namespace samri::model

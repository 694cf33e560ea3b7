#include "samri/model/sam.h"

#include <string>

#include "samri/core/error.h"

namespace samri::model {

namespace {

torch::Tensor resize_bilinear(const torch::Tensor& x, int64_t height, int64_t width) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{height, width})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

}  // namespace

SamImpl::SamImpl(const SamConfig& config, WeightInit init) : config_(config) {
  // A config whose parts disagree would only fail deep inside a forward pass; say so up front.
  check_sam_config(config, "SAM config '" + config.name + "'");
  image_encoder = register_module("image_encoder", ImageEncoderViT(config.image_encoder, init));
  prompt_encoder = register_module("prompt_encoder", PromptEncoder(config.prompt_encoder));
  mask_decoder = register_module("mask_decoder", MaskDecoder(config.mask_decoder));
}

torch::Tensor SamImpl::postprocess_masks(const torch::Tensor& low_res,
                                         std::array<int, 2> input_size,
                                         std::array<int, 2> original_size) const {
  return postprocess_mask_logits(low_res, config_.image_encoder.img_size, input_size,
                                 original_size);
}

torch::Tensor postprocess_mask_logits(const torch::Tensor& low_res, int img_size,
                                      std::array<int, 2> input_size,
                                      std::array<int, 2> original_size) {
  const int size = img_size;
  if (input_size[0] < 1 || input_size[1] < 1 || input_size[0] > size || input_size[1] > size) {
    throw Error("postprocess_masks: input size " + std::to_string(input_size[0]) + "x" +
                std::to_string(input_size[1]) + " is not within the " + std::to_string(size) + "x" +
                std::to_string(size) + " model input");
  }
  if (original_size[0] < 1 || original_size[1] < 1) {
    throw Error("postprocess_masks: empty original size");
  }
  using torch::indexing::Slice;
  const torch::Tensor padded = resize_bilinear(low_res, size, size);
  const torch::Tensor cropped =
      padded.index({"...", Slice(0, input_size[0]), Slice(0, input_size[1])});
  return resize_bilinear(cropped, original_size[0], original_size[1]);
}

}  // namespace samri::model

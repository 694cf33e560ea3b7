#pragma once

#include <array>
#include <utility>

#include <torch/torch.h>

namespace samri::model {

// SAM's ResizeLongestSide size rule: new = int(old * target / max(h, w) + 0.5).
std::pair<int, int> resized_shape(int height, int width, int target_length);

// Pillow's bilinear resampling of an 8-bit image (what SamPredictor.set_image does through
// torchvision's to_pil_image + resize): a separable triangle filter whose support widens when
// shrinking, 22-bit fixed-point coefficients, horizontal pass then vertical pass, each rounded to
// uint8. `image` is (H, W, C) uint8, contiguous; the result is (out_h, out_w, C) uint8.
torch::Tensor resize_uint8_bilinear(const torch::Tensor& image, int out_h, int out_w);

// The encoder input for a (H, W, 3) uint8 image: resize longest side to `img_size` (above),
// normalise by pixel mean/std, zero-pad right/bottom. Returns (1, 3, img_size, img_size) float32
// and the resized (h, w) ("input_size").
struct EncoderInput {
  torch::Tensor tensor;
  std::array<int, 2> input_size;
};
EncoderInput prepare_encoder_input(const torch::Tensor& image_hwc_uint8, int img_size,
                                   const std::array<double, 3>& pixel_mean,
                                   const std::array<double, 3>& pixel_std);

}  // namespace samri::model

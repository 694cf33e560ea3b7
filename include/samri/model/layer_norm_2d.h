#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace samri::model {

// Channel-wise layer norm of (B, C, H, W) feature maps, as SAM's LayerNorm2d: statistics over C
// only (torch::nn::LayerNorm normalises trailing dims, which would need two permutes).
// Parameters "weight" (ones) and "bias" (zeros), shape (C,).
class LayerNorm2dImpl : public torch::nn::Module {
 public:
  explicit LayerNorm2dImpl(int64_t channels, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double eps_;
  torch::Tensor weight_;
  torch::Tensor bias_;
};
TORCH_MODULE(LayerNorm2d);

}  // namespace samri::model

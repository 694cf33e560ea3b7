#include "samri/model/layer_norm_2d.h"

namespace samri::model {

LayerNorm2dImpl::LayerNorm2dImpl(int64_t channels, double eps)
    : eps_(eps),
      weight_(register_parameter("weight", torch::ones({channels}))),
      bias_(register_parameter("bias", torch::zeros({channels}))) {}

torch::Tensor LayerNorm2dImpl::forward(const torch::Tensor& x) {
  // Statistics of a few bf16/fp16 channels lose too much (bf16 training got NaN gradients): they
  // run in float32, as autocast runs layer norms.
  if (x.scalar_type() != torch::kFloat32 && x.scalar_type() != torch::kFloat64) {
    return forward(x.to(torch::kFloat32)).to(x.scalar_type());
  }
  // The reference's op order (biased variance, sqrt then divide) keeps results bit-comparable.
  const torch::Tensor u = x.mean(1, /*keepdim=*/true);
  const torch::Tensor centred = x - u;
  const torch::Tensor s = centred.pow(2).mean(1, /*keepdim=*/true);
  const torch::Tensor normed = centred / torch::sqrt(s + eps_);
  return weight_.view({-1, 1, 1}) * normed + bias_.view({-1, 1, 1});
}

}  // namespace samri::model

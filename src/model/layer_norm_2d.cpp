#include "samri/model/layer_norm_2d.h"

#include "samri/model/cpu_low_precision.h"

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
  if (records_gradient(x, weight_)) {
    // Training: torch's fused layer norm over the channels of a channels-last view, one pass each
    // way instead of six elementwise ops whose saved intermediates dominated the decoder's
    // backward pass. The result stays channels-last.
    const torch::Tensor normed =
        torch::layer_norm(x.permute({0, 2, 3, 1}), {x.size(1)}, weight_.to(x.scalar_type()),
                          bias_.to(x.scalar_type()), eps_);
    return normed.permute({0, 3, 1, 2});
  }
  // The reference's op order (biased variance, sqrt then divide) keeps results bit-comparable.
  const torch::Tensor u = x.mean(1, /*keepdim=*/true);
  const torch::Tensor centred = x - u;
  const torch::Tensor s = centred.pow(2).mean(1, /*keepdim=*/true);
  const torch::Tensor normed = centred / torch::sqrt(s + eps_);
  return weight_.view({-1, 1, 1}) * normed + bias_.view({-1, 1, 1});
}

}  // namespace samri::model

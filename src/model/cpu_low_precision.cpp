#include "samri/model/cpu_low_precision.h"

namespace samri::model {

bool needs_float32_on_cpu(const torch::Tensor& x) {
  return x.device().is_cpu() &&
         (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kFloat16);
}

torch::Tensor robust_layer_norm(torch::nn::LayerNormImpl& norm, const torch::Tensor& x) {
  if (!needs_float32_on_cpu(x)) return norm.forward(x);
  const auto& o = norm.options;
  const torch::Tensor w = norm.weight.defined() ? norm.weight.to(torch::kFloat32) : norm.weight;
  const torch::Tensor b = norm.bias.defined() ? norm.bias.to(torch::kFloat32) : norm.bias;
  return torch::layer_norm(x.to(torch::kFloat32), o.normalized_shape(), w, b, o.eps())
      .to(x.scalar_type());
}

torch::Tensor robust_gelu(const torch::Tensor& x) {
  if (!needs_float32_on_cpu(x)) return torch::gelu(x);
  return torch::gelu(x.to(torch::kFloat32)).to(x.scalar_type());
}

}  // namespace samri::model

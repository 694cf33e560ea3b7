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

namespace {

// gelu with a backward that gives the kernel one layout for both of its operands.
struct LayoutSafeGelu : public torch::autograd::Function<LayoutSafeGelu> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return torch::gelu(x);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    // The layout of x (channels-last for the decoder's upscaled maps), so that at most the
    // gradient is copied.
    torch::Tensor x = ctx->get_saved_variables()[0];
    const auto format = x.suggest_memory_format();
    x = x.contiguous(format);
    return {torch::gelu_backward(grads[0].contiguous(format), x)};
  }
};

torch::Tensor cpu_gelu(const torch::Tensor& x) {
  if (!x.requires_grad() || !torch::GradMode::is_enabled()) return torch::gelu(x);
  return LayoutSafeGelu::apply(x);
}

}  // namespace

torch::Tensor robust_gelu(const torch::Tensor& x) {
  if (!x.device().is_cpu()) return torch::gelu(x);
  if (!needs_float32_on_cpu(x)) return cpu_gelu(x);
  return cpu_gelu(x.to(torch::kFloat32)).to(x.scalar_type());
}

bool records_gradient(const torch::Tensor& x, const torch::Tensor& parameter) {
  return torch::GradMode::is_enabled() && (x.requires_grad() || parameter.requires_grad());
}

}  // namespace samri::model

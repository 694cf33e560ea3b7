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
    const torch::Tensor x = ctx->get_saved_variables()[0].contiguous();
    return {torch::gelu_backward(grads[0].contiguous(), x)};
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

}  // namespace samri::model

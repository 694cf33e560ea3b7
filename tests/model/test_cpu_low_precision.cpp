#include "samri/model/cpu_low_precision.h"

#include <gtest/gtest.h>

#include <cmath>

namespace samri::model {
namespace {

// Rows whose mean is large beside their spread: the case where LibTorch 1.13's bf16 CPU layer
// norm is wrong by orders of magnitude. The reference is float32 on the same bf16-rounded input,
// so only the kernel's own error is measured.
torch::Tensor offset_rows() {
  torch::manual_seed(0);
  return (torch::randn({4, 64, 256}) + 1000).to(torch::kBFloat16);
}

TEST(CpuLowPrecision, Bf16LayerNormMatchesFloat32ForRowsWithALargeMean) {
  torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({256}));
  const torch::Tensor x = offset_rows();
  const torch::Tensor expected = norm->forward(x.to(torch::kFloat32));
  const torch::Tensor got = robust_layer_norm(*norm, x);
  EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
  // bf16 rounding of the input (steps of 8 at 1000, spread 1) bounds the error, not the kernel.
  EXPECT_LT((got.to(torch::kFloat32) - expected).abs().max().item<double>(), 0.05);
}

TEST(CpuLowPrecision, Bf16LayerNormGradientsAreFiniteAndMatchFloat32) {
  torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({256}));
  const torch::Tensor x32 = offset_rows().to(torch::kFloat32).requires_grad_();
  const torch::Tensor x16 = offset_rows().requires_grad_();
  const torch::Tensor g = torch::randn({4, 64, 256});
  norm->forward(x32).backward(g);
  robust_layer_norm(*norm, x16).backward(g.to(torch::kBFloat16));
  const torch::Tensor got = x16.grad().to(torch::kFloat32);
  ASSERT_TRUE(torch::isfinite(got).all().item<bool>());
  const double scale = x32.grad().abs().max().item<double>();
  EXPECT_LT((got - x32.grad()).abs().max().item<double>(), 0.02 * scale);
}

// LibTorch 1.13's gelu_backward leaves part of its output unwritten when the gradient is
// channels-last and the input is not. Freed memory full of NaN makes that visible every time.
void leave_nan_in_freed_memory() {
  for (int i = 0; i < 8; ++i) {
    const torch::Tensor junk = torch::full({4, 8, 16, 16}, std::nanf(""));
  }
}

TEST(CpuLowPrecision, GeluGradientIsRightForAChannelsLastGradient) {
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    torch::manual_seed(0);
    const torch::Tensor x = torch::randn({4, 8, 16, 16}).to(dtype).requires_grad_();
    const torch::Tensor g = torch::randn({4, 16, 16, 8}).to(dtype).permute({0, 3, 1, 2});
    const torch::Tensor expected =
        torch::gelu_backward(g.to(torch::kFloat32).contiguous(), x.detach().to(torch::kFloat32));
    leave_nan_in_freed_memory();
    robust_gelu(x).backward(g);
    const torch::Tensor got = x.grad().to(torch::kFloat32);
    ASSERT_TRUE(torch::isfinite(got).all().item<bool>()) << dtype;
    EXPECT_LT((got - expected).abs().max().item<double>(), dtype == torch::kFloat32 ? 1e-6 : 0.02)
        << dtype;
  }
}

TEST(CpuLowPrecision, Float32InputTakesTheModulesOwnPath) {
  torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({8}));
  const torch::Tensor x = torch::randn({3, 8});
  EXPECT_TRUE(torch::equal(robust_layer_norm(*norm, x), norm->forward(x)));
  EXPECT_TRUE(torch::equal(robust_gelu(x), torch::gelu(x)));
  EXPECT_FALSE(needs_float32_on_cpu(x));
  EXPECT_TRUE(needs_float32_on_cpu(x.to(torch::kBFloat16)));
}

}  // namespace
}  // namespace samri::model

#pragma once

#include <torch/torch.h>

namespace samri::model {

// LibTorch 1.13's CPU kernels lose too much for some ops in bf16 or fp16. These run them in
// float32 and cast the result back, as autocast runs them; float32 input and other devices go
// straight to the op.

// True for bf16/fp16 on the CPU: the cases that need the float32 detour.
bool needs_float32_on_cpu(const torch::Tensor& x);

// The CPU bf16 layer norm takes its moments in low precision: rows whose mean is large beside
// their spread come out wrong by orders of magnitude (measured: mean 1000, std 1 gives errors of
// ~1e3 forward and ~1e6 backward), and bf16 training went to NaN.
torch::Tensor robust_layer_norm(torch::nn::LayerNormImpl& norm, const torch::Tensor& x);

// GELU whose CPU backward is right for any memory layout. LibTorch 1.13's CPU gelu_backward
// (erf form) returns uninitialised memory when the incoming gradient is channels-last and the
// saved input is not: the case of the mask decoder's bf16 upscaling path, whose matmul-based
// transposed convolution hands back a channels-last gradient. It showed as NaN or 1e38 weights
// in bf16 training, depending on what the allocator had left there. bf16/fp16 run in float32.
torch::Tensor robust_gelu(const torch::Tensor& x);

// Whether autograd records an op on `x` with `parameter`: training, where some CPU ops take a
// layout or kernel that is faster forward plus backward but slower forward alone.
bool records_gradient(const torch::Tensor& x, const torch::Tensor& parameter);

}  // namespace samri::model

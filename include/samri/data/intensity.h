#pragma once

#include <torch/torch.h>

namespace samri::data {

// The paper's per-slice intensity rule, shared by samri-infer and samri-preprocess:
// round((v - min) / (max - min + 1e-8) * 255) to uint8, with min and max of the slice itself.
// It is computed exactly as the reference's NumPy code does in float32 (max - min + 1e-8 is
// formed in float64 and then used as float32, as NumPy 1.x promotes that scalar), rounding halves
// to even as np.round, and clamping to 0..255. A constant slice gives zeros. Any shape (one slice
// is meant); integer input is converted to float32 first. NaN or infinite values throw
// samri::Error.
torch::Tensor normalize_to_uint8(const torch::Tensor& slice);

// The same formula with a given range instead of the slice's own min and max (volume-wide
// statistics, percentile clipping): values outside [low, high] clamp to 0 or 255.
torch::Tensor normalize_to_uint8(const torch::Tensor& values, float low, float high);

// (H, W) uint8 grey image to (H, W, 3) RGB, contiguous, as SAM's predictor takes it.
torch::Tensor to_rgb(const torch::Tensor& grey_hw);

}  // namespace samri::data

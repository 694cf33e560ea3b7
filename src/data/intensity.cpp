#include "samri/data/intensity.h"

#include <algorithm>
#include <cmath>

#include "samri/core/error.h"

namespace samri::data {

namespace {

torch::Tensor finite_float32(const torch::Tensor& values) {
  torch::Tensor v = values.to(torch::kCPU, torch::kFloat32).contiguous();
  if (v.numel() > 0 && !torch::isfinite(v).all().item<bool>()) {
    throw Error("cannot normalise intensities: the slice holds NaN or infinite values");
  }
  return v;
}

// The reference's expression, one float32 operation at a time, so that every intermediate is
// rounded exactly as NumPy's float32 arrays are.
torch::Tensor scale_to_uint8(const torch::Tensor& v, float low, float high) {
  // NumPy 1.x: (max - min) is a float32 scalar, + 1e-8 promotes it to float64, and the array
  // division then uses that value rounded to float32.
  const float denominator = static_cast<float>(static_cast<double>(high - low) + 1e-8);
  auto out = torch::empty(v.sizes(), torch::TensorOptions().dtype(torch::kUInt8));
  const float* in = v.data_ptr<float>();
  std::uint8_t* to = out.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < v.numel(); ++i) {
    const float shifted = in[i] - low;
    const float ratio = shifted / denominator;
    const float scaled = ratio * 255.0f;
    const float rounded = std::nearbyint(scaled);  // half to even, as np.round
    to[i] = static_cast<std::uint8_t>(std::clamp(rounded, 0.0f, 255.0f));
  }
  return out;
}

}  // namespace

torch::Tensor normalize_to_uint8(const torch::Tensor& slice) {
  const torch::Tensor v = finite_float32(slice);
  if (v.numel() == 0) return torch::empty(v.sizes(), torch::TensorOptions().dtype(torch::kUInt8));
  return scale_to_uint8(v, v.min().item<float>(), v.max().item<float>());
}

torch::Tensor normalize_to_uint8(const torch::Tensor& values, float low, float high) {
  if (!std::isfinite(low) || !std::isfinite(high) || high < low) {
    throw Error("cannot normalise intensities to the range [" + std::to_string(low) + ", " +
                std::to_string(high) + "]");
  }
  return scale_to_uint8(finite_float32(values), low, high);
}

torch::Tensor to_rgb(const torch::Tensor& grey_hw) {
  if (grey_hw.dim() != 2 || grey_hw.scalar_type() != torch::kUInt8) {
    throw Error("to_rgb needs a (H, W) uint8 image");
  }
  return grey_hw.unsqueeze(-1).expand({grey_hw.size(0), grey_hw.size(1), 3}).contiguous();
}

}  // namespace samri::data

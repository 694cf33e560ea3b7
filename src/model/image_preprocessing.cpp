#include "samri/model/image_preprocessing.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "samri/core/error.h"

namespace samri::model {
namespace {

// Pillow's fixed-point format for 8-bit images: 32 bits minus 8 for the pixel value and 2 for
// the sign and the headroom of filters with negative lobes.
constexpr int kPrecisionBits = 32 - 8 - 2;

// The filter taps of one resampling direction, as Pillow's precompute_coeffs lays them out:
// output index i reads `count[i]` inputs starting at `first[i]`, with weights at i * ksize.
struct Taps {
  int ksize = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};

double triangle(double x) {
  x = x < 0.0 ? -x : x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Round half away from zero, as normalize_coeffs_8bpc does.
int32_t to_fixed_point(double w) {
  const double scaled = w * static_cast<double>(1 << kPrecisionBits);
  return static_cast<int32_t>(w < 0.0 ? -0.5 + scaled : 0.5 + scaled);
}

// The arithmetic below keeps Pillow's operation order so that every double rounds the same way;
// a weight one unit of 2^-22 off changes some output pixels by one grey level.
Taps bilinear_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  const double inverse = 1.0 / filterscale;
  Taps taps;
  taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(static_cast<std::size_t>(out_size) * taps.ksize, 0);
  std::vector<double> w(taps.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = 0.0 + (xx + 0.5) * scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double sum = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = triangle((x + xmin - center + 0.5) * inverse);
      sum += w[x];
    }
    int32_t* k = &taps.weights[static_cast<std::size_t>(xx) * taps.ksize];
    for (int x = 0; x < xmax; ++x) k[x] = to_fixed_point(sum != 0.0 ? w[x] / sum : w[x]);
    taps.first[xx] = xmin;
    taps.count[xx] = xmax;
  }
  return taps;
}

uint8_t clip8(int32_t accumulator) {
  return static_cast<uint8_t>(std::clamp(accumulator >> kPrecisionBits, 0, 255));
}

// Resamples along the axis with element stride `step` (in bytes of a channel); `lines` lines of
// `in_len` samples each, every line `line_stride` apart in the input and the output.
struct PassGeometry {
  int64_t lines, channels, in_line_stride, out_line_stride, in_step, out_step;
};

void resample_pass(const uint8_t* in, uint8_t* out, const Taps& taps, const PassGeometry& g) {
  const int out_len = static_cast<int>(taps.first.size());
  for (int64_t line = 0; line < g.lines; ++line) {
    const uint8_t* src = in + line * g.in_line_stride;
    uint8_t* dst = out + line * g.out_line_stride;
    for (int i = 0; i < out_len; ++i) {
      const int32_t* k = &taps.weights[static_cast<std::size_t>(i) * taps.ksize];
      const uint8_t* s = src + static_cast<int64_t>(taps.first[i]) * g.in_step;
      for (int64_t c = 0; c < g.channels; ++c) {
        int32_t acc = 1 << (kPrecisionBits - 1);
        for (int j = 0; j < taps.count[i]; ++j) acc += s[j * g.in_step + c] * k[j];
        dst[i * g.out_step + c] = clip8(acc);
      }
    }
  }
}

torch::Tensor horizontal_pass(const torch::Tensor& in, int out_w) {
  const int64_t h = in.size(0), w = in.size(1), c = in.size(2);
  auto out = torch::empty({h, out_w, c}, in.options());
  const Taps taps = bilinear_taps(static_cast<int>(w), out_w);
  resample_pass(in.data_ptr<uint8_t>(), out.data_ptr<uint8_t>(), taps,
                {h, c, w * c, out_w * c, c, c});
  return out;
}

torch::Tensor vertical_pass(const torch::Tensor& in, int out_h) {
  const int64_t h = in.size(0), w = in.size(1), c = in.size(2);
  auto out = torch::empty({out_h, w, c}, in.options());
  const Taps taps = bilinear_taps(static_cast<int>(h), out_h);
  // Each image column is a "line" here: lines are one pixel apart, samples one row apart.
  resample_pass(in.data_ptr<uint8_t>(), out.data_ptr<uint8_t>(), taps, {w, c, c, c, w * c, w * c});
  return out;
}

void check_hwc_uint8(const torch::Tensor& image, const std::string& what) {
  if (!image.defined() || image.dim() != 3 || image.scalar_type() != torch::kUInt8) {
    throw Error(what + ": expected an (H, W, C) uint8 image");
  }
  if (image.size(0) < 1 || image.size(1) < 1 || image.size(2) < 1) {
    throw Error(what + ": the image is empty");
  }
}

}  // namespace

std::pair<int, int> resized_shape(int height, int width, int target_length) {
  if (height < 1 || width < 1 || target_length < 1) {
    throw Error("resized_shape: sizes must be positive (got " + std::to_string(height) + "x" +
                std::to_string(width) + " to " + std::to_string(target_length) + ")");
  }
  // SAM's get_preprocess_shape computes the scale first; keep that order for identical rounding.
  const double scale = target_length * 1.0 / std::max(height, width);
  return {static_cast<int>(height * scale + 0.5), static_cast<int>(width * scale + 0.5)};
}

torch::Tensor resize_uint8_bilinear(const torch::Tensor& image, int out_h, int out_w) {
  check_hwc_uint8(image, "resize_uint8_bilinear");
  if (out_h < 1 || out_w < 1) {
    throw Error("resize_uint8_bilinear: output size must be positive (got " +
                std::to_string(out_h) + "x" + std::to_string(out_w) + ")");
  }
  auto x = image.to(torch::kCPU).contiguous();
  // Pillow skips a pass whose size does not change, so an unchanged axis is copied bit for bit.
  if (out_w != x.size(1)) x = horizontal_pass(x, out_w);
  if (out_h != x.size(0)) x = vertical_pass(x, out_h);
  return x.is_same(image) ? x.clone() : x;
}

EncoderInput prepare_encoder_input(const torch::Tensor& image_hwc_uint8, int img_size,
                                   const std::array<double, 3>& pixel_mean,
                                   const std::array<double, 3>& pixel_std) {
  check_hwc_uint8(image_hwc_uint8, "prepare_encoder_input");
  if (image_hwc_uint8.size(2) != 3) {
    throw Error("prepare_encoder_input: expected 3 channels, got " +
                std::to_string(image_hwc_uint8.size(2)));
  }
  const auto [h, w] = resized_shape(static_cast<int>(image_hwc_uint8.size(0)),
                                    static_cast<int>(image_hwc_uint8.size(1)), img_size);
  const auto resized = resize_uint8_bilinear(image_hwc_uint8, h, w);
  // Mean and std as float32 tensors, subtracted and divided in float32: the reference's buffers.
  const auto opts = torch::TensorOptions().dtype(torch::kFloat);
  const auto mean =
      torch::tensor({pixel_mean[0], pixel_mean[1], pixel_mean[2]}, opts).view({3, 1, 1});
  const auto std = torch::tensor({pixel_std[0], pixel_std[1], pixel_std[2]}, opts).view({3, 1, 1});
  auto padded = torch::zeros({1, 3, img_size, img_size}, opts);
  padded[0].narrow(1, 0, h).narrow(2, 0, w).copy_(
      (resized.permute({2, 0, 1}).to(torch::kFloat) - mean) / std);
  return {padded, {h, w}};
}

}  // namespace samri::model

#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "samri/train/sample_random.h"

namespace samri::train {

// The decoder's input frame for a slice of `height` x `width`: resized with its longest side to
// img_size (new = int(old * img_size / max(h, w) + 0.5), as SAM's ResizeLongestSide), then padded.
struct InputFrame {
  std::int64_t height = 0;  // original
  std::int64_t width = 0;
  std::int64_t resized_height = 0;
  std::int64_t resized_width = 0;
  std::int64_t img_size = 0;
  static InputFrame of(std::int64_t height, std::int64_t width, std::int64_t img_size);
  // Original pixel coordinates (x = column, y = row) to the resized frame, as SAM's apply_coords.
  float x(double column) const { return static_cast<float>(column * resized_width / width); }
  float y(double row) const { return static_cast<float>(row * resized_height / height); }
};

// How a training sample's prompt is drawn. Pixel amounts are in the input frame already (the
// caller scales the config's 1024-frame values by img_size / 1024).
struct PromptRules {
  double box_jitter = 0;
  double box_jitter_min_extent = 0;
  bool with_point = false;
  std::string point_rule = "uniform";  // uniform | middle_raster | interior
};

struct SamplePrompt {
  std::array<float, 4> box{};                 // x0, y0, x1, y1 in the input frame
  std::optional<std::array<float, 2>> point;  // x, y in the input frame (a positive point)
};

// The sample's tightest box (`box`: x0, y0, x1, y1 inclusive, original pixels) in the input frame,
// each coordinate shifted by U(-j, j) (an axis only when its extent exceeds the minimum), clamped
// to the resized image; with_point adds one pixel of `mask` ((H, W) bool, the object) chosen by
// the point rule. Every random number comes from `random`.
SamplePrompt sample_prompt(const std::array<std::int64_t, 4>& box, const torch::Tensor& mask,
                           const InputFrame& frame, const PromptRules& rules, SampleRandom& random);

// A pixel (column, row) of `mask` (H, W bool, at least one pixel set): "uniform" any object pixel;
// "middle_raster" one of the middle 10% of object pixels in raster order (the public code's rule);
// "interior" the first pixel, in raster order, of those farthest (city-block) from the background
// and the image border.
std::array<std::int64_t, 2> choose_point(const torch::Tensor& mask, const std::string& rule,
                                         SampleRandom& random);

// The training target (low_res x low_res float 0/1): `mask` resized (nearest) into the input
// frame, padded to img_size, then resized (nearest) to low_res, as the public code builds it.
torch::Tensor low_res_target(const torch::Tensor& mask, const InputFrame& frame,
                             std::int64_t low_res);

}  // namespace samri::train

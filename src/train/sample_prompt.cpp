#include "samri/train/sample_prompt.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "samri/core/error.h"

namespace samri::train {

InputFrame InputFrame::of(std::int64_t height, std::int64_t width, std::int64_t img_size) {
  if (height <= 0 || width <= 0) throw Error("input frame of an empty slice");
  const double scale = static_cast<double>(img_size) / static_cast<double>(std::max(height, width));
  InputFrame f;
  f.height = height;
  f.width = width;
  f.resized_height = static_cast<std::int64_t>(height * scale + 0.5);
  f.resized_width = static_cast<std::int64_t>(width * scale + 0.5);
  f.img_size = img_size;
  return f;
}

namespace {

// Shifts lo and hi independently by U(-j, j) when hi - lo exceeds min_extent, clamped to [0, max].
void jitter_axis(float& lo, float& hi, const PromptRules& rules, float max, SampleRandom& random) {
  if (rules.box_jitter > 0 && hi - lo > rules.box_jitter_min_extent) {
    lo += static_cast<float>(random.uniform(-rules.box_jitter, rules.box_jitter));
    hi += static_cast<float>(random.uniform(-rules.box_jitter, rules.box_jitter));
  }
  lo = std::clamp(lo, 0.0f, max);
  hi = std::clamp(hi, 0.0f, max);
  if (lo > hi) std::swap(lo, hi);
}

// City-block distance of each object pixel to the nearest background pixel or the border (two
// raster passes), for the interior point.
std::vector<int> interior_distance(const bool* m, std::int64_t h, std::int64_t w) {
  const int far = static_cast<int>(h + w);
  std::vector<int> d(static_cast<std::size_t>(h * w));
  for (std::int64_t r = 0; r < h; ++r) {
    for (std::int64_t c = 0; c < w; ++c) {
      int& v = d[r * w + c];
      if (!m[r * w + c]) {
        v = 0;
        continue;
      }
      const int up = r > 0 ? d[(r - 1) * w + c] : 0;
      const int left = c > 0 ? d[r * w + c - 1] : 0;
      v = std::min({far, up + 1, left + 1});
    }
  }
  for (std::int64_t r = h - 1; r >= 0; --r) {
    for (std::int64_t c = w - 1; c >= 0; --c) {
      int& v = d[r * w + c];
      if (v == 0) continue;
      const int down = r + 1 < h ? d[(r + 1) * w + c] : 0;
      const int right = c + 1 < w ? d[r * w + c + 1] : 0;
      v = std::min({v, down + 1, right + 1});
    }
  }
  return d;
}

}  // namespace

std::array<std::int64_t, 2> choose_point(const torch::Tensor& mask_in, const std::string& rule,
                                         SampleRandom& random) {
  const torch::Tensor mask = mask_in.to(torch::kBool).contiguous();
  const std::int64_t h = mask.size(0), w = mask.size(1);
  const bool* m = mask.data_ptr<bool>();
  std::vector<std::int64_t> on;
  for (std::int64_t i = 0; i < h * w; ++i) {
    if (m[i]) on.push_back(i);
  }
  if (on.empty()) throw Error("a point prompt for an empty mask");
  std::int64_t pick = 0;
  if (rule == "uniform") {
    pick = on[random.below(on.size())];
  } else if (rule == "middle_raster") {
    const auto n = static_cast<std::int64_t>(on.size());
    const std::int64_t lo = n * 45 / 100;
    const std::int64_t hi = std::max(lo + 1, n * 55 / 100);
    pick = on[lo + static_cast<std::int64_t>(random.below(static_cast<std::uint64_t>(hi - lo)))];
  } else if (rule == "interior") {
    const std::vector<int> d = interior_distance(m, h, w);
    pick = on[0];
    for (const std::int64_t i : on) {
      if (d[i] > d[pick]) pick = i;
    }
  } else {
    throw Error("unknown point rule '" + rule + "'");
  }
  return {pick % w, pick / w};
}

SamplePrompt sample_prompt(const std::array<std::int64_t, 4>& box, const torch::Tensor& mask,
                           const InputFrame& frame, const PromptRules& rules,
                           SampleRandom& random) {
  SamplePrompt p;
  float x0 = frame.x(box[0]), y0 = frame.y(box[1]), x1 = frame.x(box[2]), y1 = frame.y(box[3]);
  jitter_axis(x0, x1, rules, static_cast<float>(frame.resized_width - 1), random);
  jitter_axis(y0, y1, rules, static_cast<float>(frame.resized_height - 1), random);
  p.box = {x0, y0, x1, y1};
  if (rules.with_point) {
    const auto [column, row] = choose_point(mask, rules.point_rule, random);
    p.point = std::array<float, 2>{frame.x(column), frame.y(row)};
  }
  return p;
}

namespace {

// The source index of torch's nearest resize (upsample_nearest in LibTorch 1.13 and 2.x).
std::int64_t nearest_source(std::int64_t dst, std::int64_t in, std::int64_t out) {
  if (out == in) return dst;
  if (out == 2 * in) return dst >> 1;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  return std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(dst) * scale)), in - 1);
}

// For each low-res row (or column): the original row it samples through the input frame, or -1
// in the padding.
std::vector<std::int64_t> low_res_sources(std::int64_t low_res, std::int64_t img_size,
                                          std::int64_t resized, std::int64_t original) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(low_res));
  for (std::int64_t i = 0; i < low_res; ++i) {
    const std::int64_t frame = nearest_source(i, img_size, low_res);
    out[i] = frame < resized ? nearest_source(frame, original, resized) : -1;
  }
  return out;
}

}  // namespace

torch::Tensor low_res_target(const torch::Tensor& mask_in, const InputFrame& frame,
                             std::int64_t low_res) {
  // The two nearest resizes and the padding composed into one lookup per pixel: the same result
  // as interpolating a img_size^2 float image, without building it.
  const torch::Tensor mask = mask_in.to(torch::kBool).contiguous();
  const bool* m = mask.data_ptr<bool>();
  const auto rows = low_res_sources(low_res, frame.img_size, frame.resized_height, frame.height);
  const auto cols = low_res_sources(low_res, frame.img_size, frame.resized_width, frame.width);
  torch::Tensor out = torch::zeros({low_res, low_res}, torch::kFloat32);
  float* o = out.data_ptr<float>();
  for (std::int64_t i = 0; i < low_res; ++i) {
    if (rows[i] < 0) continue;
    const bool* row = m + rows[i] * frame.width;
    for (std::int64_t j = 0; j < low_res; ++j) {
      if (cols[j] >= 0 && row[cols[j]]) o[i * low_res + j] = 1;
    }
  }
  return out;
}

}  // namespace samri::train

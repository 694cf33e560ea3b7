#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/model/predictor.h"

namespace samri::infer {

// How one slice's result prompts its neighbour, and when a direction stops.
struct PropagationSettings {
  float box_margin = 0.0f;       // pixels added to each side of the previous mask's tightest box
  bool mask_prompt = false;      // previous slice's low-res logits as SAM's mask prompt
  bool point_prompt = false;     // a positive point at the previous mask's interior-most pixel
  std::int64_t min_pixels = 10;  // stop when a mask has fewer pixels (0 pixels: "vanished")
  // Stop when the predicted IoU falls under this. Off by default: the benchmark's decoder ranks
  // slices by IoU but is uncalibrated, and any threshold ended good runs at their seed.
  double min_iou = 0.0;
  double max_area_factor = 3.0;  // stop when the area grows or shrinks by more than this factor
  // Stop when the area exceeds this factor times the seed's (0: off). Seeded on an object's largest
  // slice, a mask that outgrows the seed has leaked into its surroundings.
  double max_seed_area_factor = 0.0;
  // Keep a propagated mask inside its prompt box widened by this many pixels (< 0: off), so that a
  // leak cannot widen the next slice's box by more than this. 0 scored best in the benchmark.
  float clip_to_box = 0.0f;
};

// One object on one slice.
struct SliceResult {
  std::int64_t slice = 0;
  torch::Tensor logits;               // (H, W) at the slice's size
  torch::Tensor low_res;              // (1, 4h, 4w), for the next slice's mask prompt
  double iou = 0.0;                   // the decoder's predicted IoU
  std::int64_t area = 0;              // pixels above the mask threshold
  std::optional<double> area_change;  // area / area of the neighbour it came from (none on a seed)
  std::int64_t seed = 0;              // the seed slice this result was propagated from
  bool is_seed() const { return slice == seed; }
};

// Why a direction ended: `slice` is the first slice not kept (or one past the volume's edge).
struct DirectionStop {
  std::int64_t seed = 0;
  int direction = 1;  // +1 or -1 along the slicing axis
  std::int64_t slice = 0;
  std::string reason;
};

// One object through the volume.
struct Track {
  std::map<std::int64_t, SliceResult> slices;
  std::vector<DirectionStop> stops;
};

// Decodes a single-mask prompt on a slice (encoding it, or reading a stored embedding, as needed).
using SliceDecoder = std::function<model::Prediction(std::int64_t slice, const model::Prompt&)>;

// Segments `seed` with `seed_prompt`, then walks towards both ends of [begin, end), prompting each
// slice from its neighbour's result, until a stop rule fires, the range ends, or another seed of
// the same object (in `other_seeds`) is reached (its own run covers the rest).
Track propagate(const SliceDecoder& decode, std::int64_t seed, const model::Prompt& seed_prompt,
                std::pair<std::int64_t, std::int64_t> range,
                const std::vector<std::int64_t>& other_seeds, const PropagationSettings& settings,
                double mask_threshold);

// One object from several seeds: on a slice both runs reached, a seed's own result wins, then the
// higher predicted IoU.
Track merge_tracks(const std::vector<Track>& tracks);

// The prompt a result gives its neighbour: the mask's tightest box widened by the margin (clamped
// to the image), and by the settings its low-res logits and interior-most point.
model::Prompt next_prompt(const SliceResult& previous, const PropagationSettings& settings,
                          double mask_threshold);

// Tightest box (x0, y0, x1, y1; inclusive pixels) of a non-empty (H, W) bool mask.
std::array<float, 4> mask_box(const torch::Tensor& mask);

// The pixel deepest inside a non-empty (H, W) bool mask (chessboard distance to the background,
// outside the image counting as background), the one nearest the deepest pixels' mean on ties:
// (x, y).
std::array<float, 2> interior_point(const torch::Tensor& mask);

// The stop rule a candidate breaks (empty when it passes). `previous_area` and `seed_area` are the
// areas of the neighbour it came from and of its seed.
std::string stop_reason(const SliceResult& candidate, std::int64_t previous_area,
                        std::int64_t seed_area, const PropagationSettings& settings);

// Sets (H, W) logits outside the box (x0, y0, x1, y1; inclusive) widened by `margin` far below any
// mask threshold.
void clip_logits_to_box(torch::Tensor& logits, const std::array<float, 4>& box, float margin);

}  // namespace samri::infer

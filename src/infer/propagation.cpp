#include "samri/infer/propagation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "samri/core/error.h"

namespace samri::infer {
namespace {

std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

SliceResult make_result(std::int64_t slice, std::int64_t seed, const model::Prediction& pred,
                        double mask_threshold) {
  SliceResult r;
  r.slice = slice;
  r.seed = seed;
  r.logits = pred.logits[0];
  r.low_res = pred.low_res.slice(0, 0, 1);
  r.iou = pred.iou[0].item<double>();
  r.area = (r.logits > mask_threshold).sum().item<std::int64_t>();
  return r;
}

// Walks from the seed's result in one direction; returns why it ended.
DirectionStop walk(const SliceDecoder& decode, const SliceResult& seed_result, int direction,
                   std::pair<std::int64_t, std::int64_t> range,
                   const std::vector<std::int64_t>& other_seeds,
                   const PropagationSettings& settings, double mask_threshold, Track& track) {
  DirectionStop stop{seed_result.slice, direction, seed_result.slice + direction, ""};
  const SliceResult* previous = &seed_result;
  for (std::int64_t s = seed_result.slice + direction;; s += direction) {
    stop.slice = s;
    if (s < range.first || s >= range.second) {
      stop.reason = "reached the end of the volume";
      break;
    }
    if (std::find(other_seeds.begin(), other_seeds.end(), s) != other_seeds.end()) {
      stop.reason = "reached seed slice " + std::to_string(s);
      break;
    }
    const model::Prompt prompt = next_prompt(*previous, settings, mask_threshold);
    model::Prediction prediction = decode(s, prompt);
    if (settings.clip_to_box >= 0) {
      torch::Tensor logits = prediction.logits[0];
      clip_logits_to_box(logits, *prompt.box, settings.clip_to_box);
    }
    SliceResult next = make_result(s, seed_result.slice, prediction, mask_threshold);
    next.area_change = static_cast<double>(next.area) / static_cast<double>(previous->area);
    stop.reason = stop_reason(next, previous->area, seed_result.area, settings);
    if (!stop.reason.empty()) break;
    previous = &track.slices.emplace(s, std::move(next)).first->second;
  }
  return stop;
}

// Chessboard erosion: a pixel survives when its 3x3 neighbourhood lies inside the mask.
torch::Tensor erode(const torch::Tensor& mask) {
  const torch::Tensor x = mask.to(torch::kFloat).unsqueeze(0).unsqueeze(0);
  const torch::Tensor padded = torch::constant_pad_nd(x, {1, 1, 1, 1}, 0.0);
  return (-torch::max_pool2d(-padded, {3, 3}, {1, 1})).squeeze(0).squeeze(0) > 0.5;
}

}  // namespace

std::array<float, 4> mask_box(const torch::Tensor& mask) {
  const torch::Tensor rows = mask.any(1).nonzero();
  const torch::Tensor cols = mask.any(0).nonzero();
  if (rows.numel() == 0) throw Error("mask_box: the mask is empty");
  return {cols.min().item<float>(), rows.min().item<float>(), cols.max().item<float>(),
          rows.max().item<float>()};
}

std::array<float, 2> interior_point(const torch::Tensor& mask) {
  torch::Tensor deepest = mask.to(torch::kBool);
  if (!deepest.any().item<bool>()) throw Error("interior_point: the mask is empty");
  for (torch::Tensor next = erode(deepest); next.any().item<bool>(); next = erode(next)) {
    deepest = next;
  }
  const torch::Tensor yx = deepest.nonzero().to(torch::kFloat);  // (K, 2) rows of (y, x)
  const torch::Tensor distance = (yx - yx.mean(0)).pow(2).sum(1);
  const torch::Tensor best = yx[distance.argmin()];
  return {best[1].item<float>(), best[0].item<float>()};
}

model::Prompt next_prompt(const SliceResult& previous, const PropagationSettings& settings,
                          double mask_threshold) {
  const torch::Tensor mask = previous.logits > mask_threshold;
  const auto box = mask_box(mask);
  const float width = static_cast<float>(mask.size(1)), height = static_cast<float>(mask.size(0));
  const float m = settings.box_margin;
  model::Prompt prompt;
  prompt.box =
      std::array<float, 4>{std::max(0.0f, box[0] - m), std::max(0.0f, box[1] - m),
                           std::min(width - 1, box[2] + m), std::min(height - 1, box[3] + m)};
  if (settings.mask_prompt) prompt.mask_input = previous.low_res;
  if (settings.point_prompt) {
    prompt.points.push_back(interior_point(mask));
    prompt.point_labels.push_back(1);
  }
  return prompt;
}

void clip_logits_to_box(torch::Tensor& logits, const std::array<float, 4>& box, float margin) {
  const auto edge = [margin](float value, std::int64_t size, float sign) {
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(value + sign * margin)), 0,
                                    size - 1);
  };
  const std::int64_t rows = logits.size(0), cols = logits.size(1);
  const std::int64_t x0 = edge(box[0], cols, -1), x1 = edge(box[2], cols, 1);
  const std::int64_t y0 = edge(box[1], rows, -1), y1 = edge(box[3], rows, 1);
  constexpr double kOutside = -1e4;
  logits.slice(0, 0, y0).fill_(kOutside);
  logits.slice(0, y1 + 1).fill_(kOutside);
  logits.slice(1, 0, x0).fill_(kOutside);
  logits.slice(1, x1 + 1).fill_(kOutside);
}

std::string stop_reason(const SliceResult& candidate, std::int64_t previous_area,
                        std::int64_t seed_area, const PropagationSettings& settings) {
  if (candidate.area == 0) return "mask vanished";
  if (candidate.area < settings.min_pixels) {
    return "mask of " + std::to_string(candidate.area) + " pixels, under the minimum of " +
           std::to_string(settings.min_pixels);
  }
  if (candidate.iou < settings.min_iou) {
    return "predicted IoU " + fixed(candidate.iou, 3) + " under the minimum of " +
           fixed(settings.min_iou, 3);
  }
  const double factor = std::max(static_cast<double>(candidate.area) / previous_area,
                                 static_cast<double>(previous_area) / candidate.area);
  if (factor > settings.max_area_factor) {
    return "area changed by a factor of " + fixed(factor, 2) + " (" +
           std::to_string(previous_area) + " -> " + std::to_string(candidate.area) +
           " pixels), over the maximum of " + fixed(settings.max_area_factor, 2);
  }
  if (settings.max_seed_area_factor > 0 &&
      candidate.area > settings.max_seed_area_factor * static_cast<double>(seed_area)) {
    return "area of " + std::to_string(candidate.area) + " pixels, over " +
           fixed(settings.max_seed_area_factor, 2) + " times the seed's " +
           std::to_string(seed_area);
  }
  return "";
}

Track propagate(const SliceDecoder& decode, std::int64_t seed, const model::Prompt& seed_prompt,
                std::pair<std::int64_t, std::int64_t> range,
                const std::vector<std::int64_t>& other_seeds, const PropagationSettings& settings,
                double mask_threshold) {
  if (seed < range.first || seed >= range.second) {
    throw Error("seed slice " + std::to_string(seed) + " lies outside slices " +
                std::to_string(range.first) + ":" + std::to_string(range.second));
  }
  Track track;
  const SliceResult& seed_result =
      track.slices.emplace(seed, make_result(seed, seed, decode(seed, seed_prompt), mask_threshold))
          .first->second;
  if (seed_result.area == 0) {
    for (int direction : {-1, 1}) {
      track.stops.push_back({seed, direction, seed + direction, "the seed's mask is empty"});
    }
    return track;
  }
  for (int direction : {-1, 1}) {
    track.stops.push_back(
        walk(decode, seed_result, direction, range, other_seeds, settings, mask_threshold, track));
  }
  return track;
}

Track merge_tracks(const std::vector<Track>& tracks) {
  Track merged;
  for (const auto& track : tracks) {
    merged.stops.insert(merged.stops.end(), track.stops.begin(), track.stops.end());
    for (const auto& [slice, result] : track.slices) {
      auto [it, inserted] = merged.slices.emplace(slice, result);
      if (inserted) continue;
      const SliceResult& held = it->second;
      const bool wins =
          result.is_seed() != held.is_seed() ? result.is_seed() : result.iou > held.iou;
      if (wins) it->second = result;
    }
  }
  return merged;
}

}  // namespace samri::infer

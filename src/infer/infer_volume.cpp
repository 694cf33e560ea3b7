#include "samri/infer/infer_volume.h"

#include <limits>

#include <spdlog/spdlog.h>

#include "samri/core/error.h"
#include "samri/core/progress.h"
#include "samri/data/label_boxes.h"
#include "samri/infer/infer_2d.h"
#include "samri/infer/sam_input.h"
#include "samri/io/image_reader.h"
#include "samri/io/image_writer.h"
#include "samri/io/slicing.h"

namespace samri::infer {
namespace {

int choose_axis(const InferOptions& o, std::optional<int> file_axis, const io::Image& volume) {
  if (o.axis && file_axis && *o.axis != *file_axis) {
    throw Error(o.prompts_file + ": its \"axis\" is " + std::to_string(*file_axis) +
                " but --axis is " + std::to_string(*o.axis));
  }
  const int axis =
      o.axis ? *o.axis : (file_axis ? *file_axis : io::default_slice_axis(volume.geometry.size));
  if (axis < 0 || axis > 2)
    throw Error("slicing axis must be 0, 1 or 2, got " + std::to_string(axis));
  return axis;
}

std::pair<std::int64_t, std::int64_t> slice_range(const InferOptions& o, std::int64_t n) {
  if (!o.slices) return {0, n};
  if (o.slices->second > n) {
    throw Error("--slices " + std::to_string(o.slices->first) + ":" +
                std::to_string(o.slices->second) + " goes past the volume, which has " +
                std::to_string(n) + " slices along the slicing axis");
  }
  return *o.slices;
}

std::vector<data::SlicePrompt> prompts_from_labels(const InferOptions& o, const io::Image& volume,
                                                   int axis, std::int64_t begin, std::int64_t end) {
  io::Image labels = io::read_label_map(o.boxes_from);
  const std::string mismatch = io::describe_geometry_mismatch(labels.geometry, volume.geometry);
  if (!mismatch.empty()) {
    throw Error(o.boxes_from + ": label map does not match " + o.input + ": " + mismatch);
  }
  std::vector<data::SlicePrompt> prompts;
  for (std::int64_t s = begin; s < end; ++s) {
    for (const auto& lb : data::label_boxes(io::extract_slice(labels, axis, s), o.min_box_pixels)) {
      data::SlicePrompt sp;
      sp.slice = s;
      sp.label = lb.label;
      sp.prompt.box = std::array<float, 4>{float(lb.box[0]), float(lb.box[1]), float(lb.box[2]),
                                           float(lb.box[3])};
      prompts.push_back(sp);
    }
  }
  return prompts;
}

// Rows and columns of a slice along `axis` (the two remaining index axes, in order).
std::pair<std::int64_t, std::int64_t> slice_shape(const io::Image& volume, int axis) {
  std::vector<std::int64_t> rest;
  for (int d = 0; d < 3; ++d) {
    if (d != axis) rest.push_back(volume.geometry.size[d]);
  }
  return {rest[0], rest[1]};
}

torch::ScalarType label_dtype(const VolumePrompts& prompts) {
  std::int64_t max_label = 0;
  for (const auto& [slice, list] : prompts.by_slice) {
    for (const auto& p : list) max_label = std::max(max_label, p.label);
  }
  if (max_label <= 255) return torch::kUInt8;
  if (max_label <= 32767) return torch::kInt16;
  return torch::kInt32;
}

// Single-mask logits of every prompt, in order. Box-only prompts (the --boxes-from case) are
// decoded together in chunks, which is much faster than one decoder call each.
std::vector<torch::Tensor> decode_all(model::SamPredictor& predictor,
                                      const std::vector<data::SlicePrompt>& prompts) {
  constexpr std::size_t kChunk = 32;
  std::vector<torch::Tensor> logits(prompts.size());
  std::vector<std::size_t> boxes_only;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].prompt.box && prompts[i].prompt.points.empty()) {
      boxes_only.push_back(i);
    } else {
      logits[i] = predictor.predict(prompts[i].prompt, false).logits[0];
    }
  }
  for (std::size_t start = 0; start < boxes_only.size(); start += kChunk) {
    const std::size_t end = std::min(boxes_only.size(), start + kChunk);
    std::vector<model::Prompt> chunk;
    for (std::size_t k = start; k < end; ++k) chunk.push_back(prompts[boxes_only[k]].prompt);
    const auto predictions = predictor.predict_batch(chunk, false);
    for (std::size_t k = start; k < end; ++k) {
      logits[boxes_only[k]] = predictions[k - start].logits[0];
    }
  }
  return logits;
}

}  // namespace

std::size_t VolumePrompts::count() const {
  std::size_t n = 0;
  for (const auto& [slice, list] : by_slice) n += list.size();
  return n;
}

VolumePrompts collect_volume_prompts(const InferOptions& o, const io::Image& volume) {
  std::optional<data::PromptsFile> file;
  if (!o.prompts_file.empty()) file = data::read_prompts_file(o.prompts_file);
  VolumePrompts out;
  out.axis = choose_axis(o, file ? file->axis : std::nullopt, volume);
  const std::int64_t n = volume.geometry.size[out.axis];
  const auto [begin, end] = slice_range(o, n);
  const auto [rows, cols] = slice_shape(volume, out.axis);

  const auto prompts = file ? file->prompts : prompts_from_labels(o, volume, out.axis, begin, end);
  const std::string source = file ? o.prompts_file : o.boxes_from;
  for (const auto& p : prompts) {
    if (p.slice < 0 || p.slice >= n) {
      throw Error(source + ": prompt on slice " + std::to_string(p.slice) + ", but " + o.input +
                  " has slices 0.." + std::to_string(n - 1) + " along axis " +
                  std::to_string(out.axis));
    }
    validate_prompt(p.prompt, rows, cols, source + " (slice " + std::to_string(p.slice) + ")");
    if (p.slice >= begin && p.slice < end) out.by_slice[p.slice].push_back(p);
  }
  if (out.by_slice.empty()) {
    spdlog::warn("no prompts in slices {}:{}; the output will be empty", begin, end);
  }
  return out;
}

torch::Tensor segment_slice(model::SamPredictor& predictor, const torch::Tensor& view,
                            const std::vector<data::SlicePrompt>& prompts) {
  predictor.set_image(sam_input_image(view));
  const std::vector<torch::Tensor> logits = decode_all(predictor, prompts);
  const double threshold = predictor.sam()->config().mask_threshold;
  auto best = torch::full(view.sizes(), -std::numeric_limits<float>::infinity());
  auto labels = torch::zeros(view.sizes(), torch::kInt64);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const torch::Tensor wins = (logits[i] > threshold).logical_and(logits[i] > best);
    labels.masked_fill_(wins, prompts[i].label);
    best = torch::where(wins, logits[i], best);
  }
  return labels;
}

void run_volume(const InferOptions& o, const io::Image& volume, const VolumePrompts& prompts,
                model::SamPredictor& predictor) {
  spdlog::info("{}: {} prompts on {} slices along axis {}", o.input, prompts.count(),
               prompts.by_slice.size(), prompts.axis);
  io::Image out = volume;
  out.data = torch::zeros(volume.data.sizes(), label_dtype(prompts));
  Progress progress("slices", prompts.by_slice.size());
  for (const auto& [slice, list] : prompts.by_slice) {
    const torch::Tensor view = io::extract_slice(volume, prompts.axis, slice);
    io::insert_slice(out, prompts.axis, slice, segment_slice(predictor, view, list));
    progress.advance();
  }
  progress.finish();
  io::write_image(o.output, out);
  spdlog::info("wrote {}", o.output);
}

}  // namespace samri::infer

#include "samri/infer/infer_volume.h"

#include <chrono>
#include <limits>

#include <spdlog/spdlog.h>

#include "samri/core/error.h"
#include "samri/core/progress.h"
#include "samri/data/label_boxes.h"
#include "samri/infer/infer_2d.h"
#include "samri/infer/label_composer.h"
#include "samri/infer/sam_input.h"
#include "samri/infer/slice_embeddings.h"
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

std::vector<data::SlicePrompt> seeds_from_options(const InferOptions& o) {
  std::vector<data::SlicePrompt> seeds;
  for (std::int64_t slice : o.seed_slices) {
    data::SlicePrompt sp;
    sp.slice = slice;
    sp.label = o.label;
    sp.prompt = prompt_from_options(o);
    sp.propagate = true;
    seeds.push_back(sp);
  }
  data::check_propagated_labels(seeds, "--slice");
  return seeds;
}

std::vector<data::SlicePrompt> gather_prompts(const InferOptions& o,
                                              const std::optional<data::PromptsFile>& file,
                                              const io::Image& volume, int axis,
                                              std::pair<std::int64_t, std::int64_t> range) {
  if (!file) {
    return o.propagate ? seeds_from_options(o)
                       : prompts_from_labels(o, volume, axis, range.first, range.second);
  }
  auto prompts = file->prompts;
  if (o.propagate) {
    for (auto& p : prompts) {
      if (!p.prompt.box) {
        throw Error(o.prompts_file + ": --propagate needs a box in every prompt (slice " +
                    std::to_string(p.slice) + " has none)");
      }
      p.propagate = true;
    }
    data::check_propagated_labels(prompts, o.prompts_file);
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
  if (!prompts.objects.empty()) max_label = std::max(max_label, prompts.objects.rbegin()->first);
  if (max_label <= 255) return torch::kUInt8;
  if (max_label <= 32767) return torch::kInt16;
  return torch::kInt32;
}

// Single-mask predictions of every prompt, in order. Box-only prompts (the --boxes-from case) are
// decoded together in chunks, which is much faster than one decoder call each.
std::vector<model::Prediction> decode_all(model::SamPredictor& predictor,
                                          const std::vector<data::SlicePrompt>& prompts) {
  constexpr std::size_t kChunk = 32;
  std::vector<model::Prediction> logits(prompts.size());
  std::vector<std::size_t> boxes_only;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].prompt.box && prompts[i].prompt.points.empty()) {
      boxes_only.push_back(i);
    } else {
      logits[i] = predictor.predict(prompts[i].prompt, false);
    }
  }
  for (std::size_t start = 0; start < boxes_only.size(); start += kChunk) {
    const std::size_t end = std::min(boxes_only.size(), start + kChunk);
    std::vector<model::Prompt> chunk;
    for (std::size_t k = start; k < end; ++k) chunk.push_back(prompts[boxes_only[k]].prompt);
    const auto predictions = predictor.predict_batch(chunk, false);
    for (std::size_t k = start; k < end; ++k) {
      logits[boxes_only[k]] = predictions[k - start];
    }
  }
  return logits;
}

}  // namespace

std::size_t VolumePrompts::count() const {
  std::size_t n = 0;
  for (const auto& [slice, list] : by_slice) n += list.size();
  for (const auto& [label, seeds] : objects) n += seeds.size();
  return n;
}

VolumePrompts collect_volume_prompts(const InferOptions& o, const io::Image& volume) {
  std::optional<data::PromptsFile> file;
  if (!o.prompts_file.empty()) file = data::read_prompts_file(o.prompts_file);
  VolumePrompts out;
  out.axis = choose_axis(o, file ? file->axis : std::nullopt, volume);
  const std::int64_t n = volume.geometry.size[out.axis];
  out.range = slice_range(o, n);
  const auto [begin, end] = out.range;
  const auto [rows, cols] = slice_shape(volume, out.axis);

  const std::string source = file ? o.prompts_file : (o.propagate ? "--slice" : o.boxes_from);
  for (const auto& p : gather_prompts(o, file, volume, out.axis, out.range)) {
    if (p.slice < 0 || p.slice >= n) {
      throw Error(source + ": prompt on slice " + std::to_string(p.slice) + ", but " + o.input +
                  " has slices 0.." + std::to_string(n - 1) + " along axis " +
                  std::to_string(out.axis));
    }
    validate_prompt(p.prompt, rows, cols, source + " (slice " + std::to_string(p.slice) + ")");
    const bool inside = p.slice >= begin && p.slice < end;
    if (p.propagate && !inside) {
      throw Error(source + ": seed slice " + std::to_string(p.slice) + " lies outside --slices " +
                  std::to_string(begin) + ":" + std::to_string(end));
    }
    if (!inside) continue;
    (p.propagate ? out.objects[p.label] : out.by_slice[p.slice]).push_back(p);
  }
  if (out.by_slice.empty() && out.objects.empty()) {
    spdlog::warn("no prompts in slices {}:{}; the output will be empty", begin, end);
  }
  return out;
}

torch::Tensor segment_slice(model::SamPredictor& predictor, const torch::Tensor& view,
                            const std::vector<data::SlicePrompt>& prompts) {
  predictor.set_image(sam_input_image(view));
  LabelComposer composer(predictor.sam()->config().mask_threshold);
  const auto predictions = decode_all(predictor, prompts);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    composer.add(0, prompts[i].label, predictions[i].logits[0]);
  }
  return composer.labels(0, view.sizes());
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

SliceResult prompted_result(std::int64_t slice, const model::Prediction& pred, double threshold) {
  SliceResult r;
  r.slice = slice;
  r.seed = slice;
  r.iou = pred.iou[0].item<double>();
  r.area = (pred.logits[0] > threshold).sum().item<std::int64_t>();
  return r;
}

// Every prompt on its own slice (no propagation).
void segment_prompted(const VolumePrompts& prompts, model::SamPredictor& predictor,
                      SliceEmbeddings& embeddings, LabelComposer& composer,
                      std::map<std::int64_t, ObjectOutcome>& objects, double& decode_seconds) {
  if (prompts.by_slice.empty()) return;
  const double threshold = predictor.sam()->config().mask_threshold;
  Progress progress("slices", prompts.by_slice.size());
  for (const auto& [slice, list] : prompts.by_slice) {
    embeddings.select(slice);
    const auto start = Clock::now();
    const auto predictions = decode_all(predictor, list);
    decode_seconds += seconds_since(start);
    for (std::size_t i = 0; i < list.size(); ++i) {
      composer.add(slice, list[i].label, predictions[i].logits[0]);
      ObjectOutcome& object = objects[list[i].label];
      object.label = list[i].label;
      object.slices[slice] = prompted_result(slice, predictions[i], threshold);
    }
    progress.advance();
  }
  progress.finish();
  for (auto& [label, object] : objects) fill_area_changes(object);
}

void log_track(std::int64_t label, const Track& track) {
  if (track.slices.empty()) return;
  spdlog::info("label {}: slices {}..{} ({} segmented)", label, track.slices.begin()->first,
               track.slices.rbegin()->first, track.slices.size());
  for (const auto& stop : track.stops) {
    spdlog::info("label {}: from seed {} going {}: stopped at slice {}: {}", label, stop.seed,
                 stop.direction > 0 ? "up" : "down", stop.slice, stop.reason);
  }
}

// One object from its seeds through the volume.
ObjectOutcome propagate_object(std::int64_t label, const std::vector<data::SlicePrompt>& seeds,
                               const VolumePrompts& prompts, const InferOptions& o,
                               model::SamPredictor& predictor, SliceEmbeddings& embeddings,
                               double& decode_seconds) {
  const SliceDecoder decode = [&](std::int64_t slice, const model::Prompt& prompt) {
    embeddings.select(slice);
    const auto start = Clock::now();
    auto prediction = predictor.predict(prompt, false);
    decode_seconds += seconds_since(start);
    return prediction;
  };
  std::vector<std::int64_t> seed_slices;
  for (const auto& s : seeds) seed_slices.push_back(s.slice);
  std::vector<Track> tracks;
  for (const auto& seed : seeds) {
    std::vector<std::int64_t> others;
    for (std::int64_t s : seed_slices) {
      if (s != seed.slice) others.push_back(s);
    }
    tracks.push_back(propagate(decode, seed.slice, seed.prompt, prompts.range, others,
                               o.propagation, predictor.sam()->config().mask_threshold));
  }
  Track merged = merge_tracks(tracks);
  log_track(label, merged);
  return {label, true, seed_slices, std::move(merged.slices), std::move(merged.stops)};
}

}  // namespace

void run_volume(const InferOptions& o, const io::Image& volume, const VolumePrompts& prompts,
                model::SamPredictor& predictor, const StoredSlices* stored) {
  spdlog::info("{}: {} prompts on {} slices and {} propagated objects along axis {}", o.input,
               prompts.count(), prompts.by_slice.size(), prompts.objects.size(), prompts.axis);
  LabelComposer composer(predictor.sam()->config().mask_threshold);
  SliceEmbeddings embeddings(predictor, volume, prompts.axis, !prompts.objects.empty(), stored);
  std::map<std::int64_t, ObjectOutcome> prompted;
  RunSummary run{o.input, o.output, prompts.axis, o.propagation};
  segment_prompted(prompts, predictor, embeddings, composer, prompted, run.decode_seconds);

  std::vector<ObjectOutcome> objects;
  for (auto& [label, object] : prompted) objects.push_back(std::move(object));
  for (const auto& [label, seeds] : prompts.objects) {
    objects.push_back(
        propagate_object(label, seeds, prompts, o, predictor, embeddings, run.decode_seconds));
    for (const auto& [slice, r] : objects.back().slices) composer.add(slice, label, r.logits);
  }
  run.slices_encoded = embeddings.encoded();
  run.slices_read = embeddings.read();
  run.encode_seconds = embeddings.encode_seconds();

  io::Image out = volume;
  out.data = torch::zeros(volume.data.sizes(), label_dtype(prompts));
  composer.write_into(out, prompts.axis);
  io::write_image(o.output, out);
  spdlog::info("wrote {}", o.output);
  const std::string report = o.report.empty() ? default_report_path(o.output) : o.report;
  write_report(report, run, objects, o.review);
  spdlog::info("wrote {} ({} slices encoded, {:.2f} s each; {} read from the store)", report,
               run.slices_encoded,
               run.encode_seconds / std::max<std::int64_t>(run.slices_encoded, 1), run.slices_read);
}

}  // namespace samri::infer

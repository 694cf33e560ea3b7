#include "samri/infer/infer.h"

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "samri/core/blas_kernels.h"
#include "samri/core/error.h"
#include "samri/infer/infer_2d.h"
#include "samri/infer/infer_volume.h"
#include "samri/infer/stored_slices.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"
#include "samri/model/checkpoint.h"
#include "samri/model/encoder_fingerprint.h"
#include "samri/model/runtime.h"

namespace samri::infer {
namespace {

namespace fs = std::filesystem;

void check_paths(const InferOptions& o) {
  if (o.input.empty() || !fs::exists(o.input)) throw Error(o.input + ": input not found");
  if (o.output.empty()) throw Error("--output is required");
  for (const auto& out : {o.output, o.save_logits, o.report}) {
    if (out.empty()) continue;
    const fs::path parent = fs::path(out).parent_path();
    if (!parent.empty() && !fs::is_directory(parent)) {
      throw Error(out + ": output folder " + parent.string() + " does not exist");
    }
  }
  if (!fs::is_regular_file(o.checkpoint)) throw Error(o.checkpoint + ": checkpoint file not found");
}

void check_propagation_options(const InferOptions& o) {
  if (!o.seed_slices.empty() && !o.propagate) throw Error("--slice needs --propagate");
  if (!o.propagate) return;
  if (!o.boxes_from.empty()) {
    throw Error(
        "--propagate takes its seeds from --box and --slice or from --prompts, not from "
        "--boxes-from");
  }
  if (o.prompts_file.empty() && (!o.box || o.seed_slices.empty())) {
    throw Error("--propagate needs a seed: a --box on one or more --slice K (or a --prompts file)");
  }
  if (o.label <= 0) throw Error("--label must be a positive integer");
  const auto& p = o.propagation;
  if (p.box_margin < 0 || p.min_pixels < 0 || p.max_area_factor < 1 || p.min_iou > 1 ||
      (p.max_seed_area_factor != 0 && p.max_seed_area_factor < 1)) {
    throw Error(
        "propagation settings out of range: --margin >= 0, --stop-min-pixels >= 0, "
        "--stop-iou <= 1, --stop-area-factor >= 1, --stop-seed-area-factor 0 (off) or >= 1");
  }
}

bool is_volume_mode(const InferOptions& o) {
  check_propagation_options(o);
  const bool volume = !o.prompts_file.empty() || !o.boxes_from.empty() || o.propagate;
  const bool flat = (o.box.has_value() || !o.points.empty()) && !o.propagate;
  if (volume == flat) {
    throw Error(
        "give either 2-D prompts (--box and/or --point) or 3-D prompts (--prompts, --boxes-from, "
        "or --propagate with --box and --slice)");
  }
  if (!volume && !o.embeddings.empty()) throw Error("--embeddings applies to 3-D volumes only");
  if (volume && (o.multimask || !o.save_logits.empty())) {
    throw Error("--multimask and --save-logits apply to 2-D images only");
  }
  return volume;
}

}  // namespace

void run_infer(const InferOptions& o) {
  const bool volume_mode = is_volume_mode(o);
  check_paths(o);
  if (o.threads > 0) torch::set_num_threads(o.threads);
  if (const auto change = upgrade_openblas_kernels()) spdlog::info("{}", describe(*change));
  const auto config = model::SamConfig::from_name_or_file(o.model);
  const torch::Device device = model::parse_device(o.device);
  const model::Precision precision = model::parse_precision(o.precision, device);

  // Read the input before the (slow) model, so that a bad image fails fast.
  const io::Image image = io::read_image(o.input, o.series_uid);
  const int dim = image.geometry.dimension();
  if (volume_mode && dim != 3) {
    throw Error(o.input + ": --prompts/--boxes-from/--propagate need a 3-D volume, this image is " +
                std::to_string(dim) + "-D");
  }
  if (!volume_mode && dim != 2) {
    throw Error(o.input + ": --box/--point need a 2-D image, this one is " + std::to_string(dim) +
                "-D (use --prompts or --boxes-from for volumes)");
  }

  // Prompts are checked before the (slow) model loads, so that a bad prompt fails fast.
  std::optional<VolumePrompts> volume_prompts;
  if (volume_mode) {
    volume_prompts = collect_volume_prompts(o, image);
  } else {
    const auto view = io::sam_view_2d(image);
    validate_prompt(prompt_from_options(o), view.size(0), view.size(1), o.input);
  }

  const auto start = std::chrono::steady_clock::now();
  model::StateDict weights = model::read_checkpoint(o.checkpoint);
  std::optional<StoredSlices> stored;
  if (!o.embeddings.empty()) {
    stored.emplace(o.embeddings, o.input, volume_prompts->axis, model::encoder_fingerprint(weights),
                   config, o.allow_mismatch);
  }
  model::SamPredictor predictor(model::load_sam(std::move(weights), o.checkpoint, config, device),
                                device, precision);
  spdlog::info("loaded {} ({}) on {} in {:.2f} s", o.checkpoint, config.name, device.str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  if (volume_mode) {
    run_volume(o, image, *volume_prompts, predictor, stored ? &*stored : nullptr);
  } else {
    run_2d(o, image, predictor);
  }
}

}  // namespace samri::infer

#include "samri/infer/infer.h"

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "samri/core/blas_kernels.h"
#include "samri/core/error.h"
#include "samri/infer/infer_2d.h"
#include "samri/infer/infer_volume.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"
#include "samri/model/runtime.h"

namespace samri::infer {
namespace {

namespace fs = std::filesystem;

void check_paths(const InferOptions& o) {
  if (o.input.empty() || !fs::exists(o.input)) throw Error(o.input + ": input not found");
  if (o.output.empty()) throw Error("--output is required");
  for (const auto& out : {o.output, o.save_logits}) {
    if (out.empty()) continue;
    const fs::path parent = fs::path(out).parent_path();
    if (!parent.empty() && !fs::is_directory(parent)) {
      throw Error(out + ": output folder " + parent.string() + " does not exist");
    }
  }
  if (!fs::is_regular_file(o.checkpoint)) throw Error(o.checkpoint + ": checkpoint file not found");
}

bool is_volume_mode(const InferOptions& o) {
  const bool volume = !o.prompts_file.empty() || !o.boxes_from.empty();
  const bool flat = o.box.has_value() || !o.points.empty();
  if (volume == flat) {
    throw Error(
        "give either 2-D prompts (--box and/or --point) or 3-D prompts (--prompts or "
        "--boxes-from)");
  }
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
    throw Error(o.input + ": --prompts/--boxes-from need a 3-D volume, this image is " +
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
  model::SamPredictor predictor(model::load_sam(o.checkpoint, config, device), device, precision);
  spdlog::info("loaded {} ({}) on {} in {:.2f} s", o.checkpoint, config.name, device.str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  if (volume_mode) {
    run_volume(o, image, *volume_prompts, predictor);
  } else {
    run_2d(o, image, predictor);
  }
}

}  // namespace samri::infer

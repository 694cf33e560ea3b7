// samri-eval: score segmentations with SAMRI's metrics and write the paper's tables.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/app_common.h"
#include "common/dist_options.h"
#include "samri/core/error.h"
#include "samri/core/version.h"
#include "samri/eval/mask_eval.h"
#include "samri/eval/model_eval.h"

namespace {

constexpr const char* kExamples = R"(
Model mode scores SAM-family checkpoints on the stored embeddings of test slices (samri-embed),
prompted from the ground truth as the paper did: the tightest box, no jitter, and for box_point
one object pixel drawn per case from a seeded stream, so every model gets the same prompts
(recorded in cases.csv). Masks are scored at the slice's original size. The architecture is the
stores'; a checkpoint with another image encoder is refused unless --allow-mismatch.

Mask mode scores any tool's segmentations (NIfTI, NRRD, MetaImage; volumes or 2-D) against
reference label maps, matched by file name, per label value. Volumes are scored slice by slice
along the slicing axis (samri-preprocess's rule: the axis with the fewest voxels), as the paper
did, or in 3-D with --per-volume. Metrics (docs/metrics.md): Dice; HD and MSD in pixels from
surfaces = mask minus its 4-connected (3-D: 6-connected) erosion; --mm for millimetres.

Output: DIR/cases.csv (one row per case and method), DIR/summary.json (statistics per target,
dataset and size bin, Wilcoxon tests, provenance) and DIR/tables/ (Markdown and LaTeX).
Figures: python3 scripts/plot_eval.py DIR/cases.csv --output DIR/figures (or --figures).

Model mode runs data-parallel as samri-train does: started by srun, with torchrun's variables or
with --rank/--world-size, the ranks split the cases and rank 0 writes the same report as one
process; every rank logs to DIR/logs/rank-K.log.

Examples:
  samri-eval --model SAM=sam_vit_b_01ec64.pth --model SAMRI=runs/box/best_seen.pth \
             --test store/brats store/colin --splits test --output eval/paper --figures
  samri-eval --model SAMRI=samri_box_point.pth --test store/colin --prompt both --output eval/bp
  samri-eval --pred nnunet_out/ --gt labelsTs/ --output eval/nnunet --label-names dataset.json
  samri-eval --pred nnunet=nnunet_out/ --pred medsam=medsam_out/ --gt labelsTs/ \
             --output eval/compare --baseline medsam --hd95 --nsd 2 --mm
  samri-eval --pred seg.nii.gz --gt aal.nii.gz --output eval/one --per-volume --labels 1,2,5
)";

// "NAME=PATH", or a bare PATH (named "pred") where `bare_allowed`.
std::pair<std::string, std::string> named_path(const std::string& spec, const std::string& flag,
                                               bool bare_allowed) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos && bare_allowed) return {"pred", spec};
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    throw samri::Error(flag + " '" + spec + "': expected NAME=PATH" +
                       (bare_allowed ? " or PATH" : ""));
  }
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The first Python with Matplotlib among $SAMRI_PYTHON, python3 on the PATH and Debian's.
std::string python_with_matplotlib() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("SAMRI_PYTHON")) candidates.emplace_back(env);
  candidates.insert(candidates.end(), {"python3", "/usr/bin/python3"});
  for (const auto& python : candidates) {
    const std::string probe = quoted(python) + " -c 'import matplotlib' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return python;
  }
  return "";
}

// scripts/plot_eval.py from the source tree (SAMRI_SCRIPTS overrides).
void draw_figures(const std::filesystem::path& report) {
  const char* env = std::getenv("SAMRI_SCRIPTS");
  const std::filesystem::path script =
      std::filesystem::path(env ? env : SAMRI_SCRIPTS_DIR) / "plot_eval.py";
  const std::string python = python_with_matplotlib();
  const std::string run = quoted(python.empty() ? "python3" : python) + " " +
                          quoted(script.string()) + " " + quoted((report / "cases.csv").string()) +
                          " --output " + quoted((report / "figures").string());
  if (python.empty() || !std::filesystem::exists(script)) {
    spdlog::warn(
        "figures not drawn: they need python3 with matplotlib (Debian: "
        "python3-matplotlib) and scripts/plot_eval.py; then run: {}",
        run);
    return;
  }
  if (std::system((run + " >/dev/null").c_str()) != 0) {
    throw samri::Error("drawing the figures failed: " + run);
  }
  spdlog::info("figures in {}", (report / "figures").string());
}

std::string command_line(int argc, char** argv) {
  std::ostringstream s;
  for (int i = 0; i < argc; ++i) s << (i ? " " : "") << argv[i];
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  samri::eval::MaskEvalOptions mask;
  samri::eval::ModelEvalOptions model;
  samri::eval::EvalSettings settings;
  samri::app::LogOptions log;
  CLI::App cli{
      "samri-eval: Dice, HD and MSD by target, dataset and object size, with the "
      "paper's tables."};
  cli.footer(kExamples);
  samri::app::add_common_options(cli, log);

  std::vector<std::string> preds, models;
  bool figures = false;
  settings.empty_distance = "nan";
  cli.add_option("--output", settings.output, "report folder")->required();

  auto* model_mode =
      cli.add_option_group("Model mode", "SAM/SAMRI checkpoints on embedding stores");
  model_mode->add_option("--model", models, "NAME=CHECKPOINT (repeat to compare models)");
  model_mode->add_option("--test", model.test, "embedding store(s) made by samri-embed");
  model_mode->add_option("--prompt", model.prompt, "box, box_point or both [box]")
      ->check(CLI::IsMember({"box", "box_point", "both"}));
  model_mode->add_option("--splits", model.splits, "score only samples of these splits [all]")
      ->delimiter(',');
  model_mode->add_option("--device", model.device, "cpu, cuda or cuda:N [cpu]");
  model_mode->add_option("--precision", model.precision, "decoder precision fp32|bf16|fp16 [fp32]");
  model_mode->add_option("--batch-size", model.batch_size, "samples per decoder call [16]");
  model_mode->add_option("--seed", model.seed, "seed of the point prompts' random streams [0]");
  model_mode->add_flag("--allow-mismatch", model.allow_mismatch,
                       "score stores made with another encoder than a model's");
  samri::app::DistOptions dist;
  samri::app::add_dist_options(*model_mode, dist, model.backend, model.dist_timeout_s);

  auto* mask_mode = cli.add_option_group("Mask mode", "any tool's segmentations as files");
  mask_mode->add_option("--pred", preds, "[NAME=]folder or file of predicted masks (repeat)");
  mask_mode->add_option("--gt", mask.reference, "folder or file of reference label maps");
  mask_mode->add_option("--dataset", mask.dataset, "dataset name [the --gt folder's name]");
  mask_mode->add_flag("--per-volume", mask.per_volume, "3-D metrics per volume (6-connected)");
  mask_mode->add_option("--axis", mask.axis, "slicing axis 0-2 [the axis with fewest voxels]");
  mask_mode->add_option("--labels", mask.labels, "score only these label values (1,2,5)")
      ->delimiter(',');
  mask_mode->add_option("--label-map", mask.label_map,
                        "JSON {\"prediction value\": reference value} for predictions");
  mask_mode->add_option("--label-names", mask.label_names,
                        "lookup table ('value name' lines) or nnU-Net dataset.json");
  mask_mode->add_flag("--binary", mask.binary, "masks must hold only 0 and 1");
  mask_mode->add_flag("--mm", mask.millimetres, "distances in millimetres from the spacing");

  cli.add_flag("--hd95", settings.hd95, "add HD95 (max of the directed 95th percentiles)");
  cli.add_option("--nsd", settings.nsd_tolerance,
                 "add normalised surface Dice at this tolerance (pixels, or mm)");
  cli.add_option("--empty-distance", settings.empty_distance,
                 "HD/MSD when one mask is empty: nan (left out, counted) or diagonal [nan]")
      ->check(CLI::IsMember({"nan", "diagonal"}));
  cli.add_option("--size-bins", settings.size_bins,
                 "area-fraction cut points, or 'tertiles' [0.005,0.035: the paper's]");
  cli.add_option("--baseline", settings.baseline, "method the others are compared with [first]");
  cli.add_flag("--holm", settings.holm, "Holm-correct the Wilcoxon p-values within each table");
  cli.add_option("--threads", settings.threads, "metric worker threads [all cores]");
  cli.add_flag("--figures", figures,
               "draw the figures with scripts/plot_eval.py (needs python3 and matplotlib)");

  // Only model mode splits work over ranks; mask mode ignores a surrounding srun's variables.
  auto launch = [&] {
    if (!models.empty())
      model.launch = samri::app::launch_with_rank_log(dist, settings.output, log);
  };
  return samri::app::run_main(
      cli, argc, argv, log,
      [&] {
        if (models.empty() == preds.empty()) {
          throw samri::Error(
              "give either --model NAME=CHECKPOINT with --test STORE (model mode) or "
              "--pred with --gt (mask mode)");
        }
        settings.provenance = {{"command", command_line(argc, argv)}, {"version", samri::kVersion}};
        samri::eval::EvalSummary summary;
        if (!models.empty()) {
          for (const auto& spec : models)
            model.models.push_back(named_path(spec, "--model", false));
          model.settings = settings;
          summary = samri::eval::run_model_eval(model);
        } else {
          if (mask.reference.empty()) throw samri::Error("--gt: the reference masks are needed");
          for (const auto& spec : preds)
            mask.predictions.push_back(named_path(spec, "--pred", true));
          mask.settings = settings;
          summary = samri::eval::run_mask_eval(mask);
        }
        if (figures && model.launch.rank == 0) draw_figures(summary.output);
      },
      launch);
}

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
#include "samri/core/error.h"
#include "samri/core/version.h"
#include "samri/eval/mask_eval.h"

namespace {

constexpr const char* kExamples = R"(
Mask mode scores any tool's segmentations (NIfTI, NRRD, MetaImage; volumes or 2-D) against
reference label maps, matched by file name, per label value. Volumes are scored slice by slice
along the slicing axis (samri-preprocess's rule: the axis with the fewest voxels), as the paper
did, or in 3-D with --per-volume. Metrics (docs/metrics.md): Dice; HD and MSD in pixels from
surfaces = mask minus its 4-connected (3-D: 6-connected) erosion; --mm for millimetres.

Output: DIR/cases.csv (one row per case and method), DIR/summary.json (statistics per target,
dataset and size bin, Wilcoxon tests, provenance) and DIR/tables/ (Markdown and LaTeX).
Figures: python3 scripts/plot_eval.py DIR/cases.csv --output DIR/figures (or --figures).

Examples:
  samri-eval --pred nnunet_out/ --gt labelsTs/ --output eval/nnunet --label-names dataset.json
  samri-eval --pred nnunet=nnunet_out/ --pred medsam=medsam_out/ --gt labelsTs/ \
             --output eval/compare --baseline medsam --hd95 --nsd 2 --mm
  samri-eval --pred seg.nii.gz --gt aal.nii.gz --output eval/one --per-volume --labels 1,2,5
)";

// "NAME=PATH" or a bare PATH (named "pred").
std::pair<std::string, std::string> named_path(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) return {"pred", spec};
  if (eq == 0 || eq + 1 == spec.size()) {
    throw samri::Error("--pred '" + spec + "': expected NAME=PATH or PATH");
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
  samri::eval::MaskEvalOptions o;
  samri::app::LogOptions log;
  CLI::App cli{
      "samri-eval: Dice, HD and MSD by target, dataset and object size, with the "
      "paper's tables."};
  cli.footer(kExamples);
  samri::app::add_common_options(cli, log);

  std::vector<std::string> preds;
  std::string empty_distance = "nan";
  double nsd = std::nan("");
  bool figures = false;
  cli.add_option("--pred", preds, "[NAME=]folder or file of predicted masks (repeat to compare)")
      ->required();
  cli.add_option("--gt", o.reference, "folder or file of reference label maps")->required();
  cli.add_option("--output", o.output, "report folder")->required();
  cli.add_option("--dataset", o.dataset, "dataset name in the tables [the --gt folder's name]");
  cli.add_flag("--per-volume", o.per_volume, "3-D metrics per volume (6-connected surfaces)");
  cli.add_option("--axis", o.axis, "slicing axis 0-2 [the axis with the fewest voxels]");
  cli.add_option("--labels", o.labels, "score only these label values (1,2,5)")->delimiter(',');
  cli.add_option("--label-map", o.label_map,
                 "JSON {\"prediction value\": reference value} applied to predictions");
  cli.add_option("--label-names", o.label_names,
                 "label names: lookup table ('value name' lines) or nnU-Net dataset.json");
  cli.add_flag("--binary", o.binary, "masks must hold only 0 and 1");
  cli.add_flag("--mm", o.millimetres, "distances in millimetres from the image spacing");
  cli.add_flag("--hd95", o.hd95, "add HD95 (max of the directed 95th percentiles)");
  cli.add_option("--nsd", nsd, "add normalised surface Dice at this tolerance (pixels, or mm)");
  cli.add_option("--empty-distance", empty_distance,
                 "HD/MSD when one mask is empty: nan (left out, counted) or diagonal [nan]")
      ->check(CLI::IsMember({"nan", "diagonal"}));
  cli.add_option("--size-bins", o.size_bins,
                 "area-fraction cut points, or 'tertiles' [0.005,0.035: the paper's]");
  cli.add_option("--baseline", o.baseline, "method the others are compared with [the first]");
  cli.add_flag("--holm", o.holm, "Holm-correct the Wilcoxon p-values within each table");
  cli.add_option("--threads", o.threads, "worker threads [all cores]");
  cli.add_flag("--figures", figures,
               "draw the figures with scripts/plot_eval.py (needs python3 "
               "and matplotlib)");

  return samri::app::run_main(cli, argc, argv, log, [&] {
    for (const auto& spec : preds) o.predictions.push_back(named_path(spec));
    o.empty_distance = empty_distance;
    o.nsd_tolerance = nsd;
    o.provenance = {{"command", command_line(argc, argv)}, {"version", samri::kVersion}};
    const auto summary = samri::eval::run_mask_eval(o);
    if (figures) draw_figures(summary.output);
  });
}

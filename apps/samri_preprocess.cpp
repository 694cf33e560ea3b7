// samri-preprocess: MRI datasets to the paper's 2-D training slices with a manifest.
#include <cstring>

#include <CLI/CLI.hpp>

#include "common/app_common.h"
#include "samri/core/error.h"
#include "samri/data/preprocess.h"

namespace {

constexpr const char* kExamples = R"(
Rules (the paper's, FACTS section 2): slices along the axis with the fewest voxels (lowest index
on a tie); of the n slices the first and last floor(n * 0.1) are dropped (the paper's "outermost
20% of the range" read as 10% per end; --peripheral-fraction 0.2 reads it as 20% per end, 0 keeps
all); every label with >= 10 pixels on a slice is one sample; slices without a sample are dropped;
each slice is scaled to uint8 by its own min and max, exactly as samri-infer does. Patients go to
train/val/test (80/10/10) by a hash of dataset, patient id and seed, so adding patients moves no
one. Options given on the command line override those of --config.

Examples:
  # a folder with images/ and labels/ (or nnU-Net's imagesTr/ and labelsTr/)
  samri-preprocess --input Task01_BrainTumour --output slices/brats --threads 2
  # a CSV list (columns image,label[,patient,modality]) with AAL's label names
  samri-preprocess --list colin.csv --label-names aal.nii.txt --output slices/colin
  # the public SAMRI code's values instead of the paper's
  samri-preprocess --input ds --config configs/preprocess_public_code.json --output slices/ds
)";

// --config is applied before the command line is parsed, so that explicit options win.
std::string apply_config_from_argv(int argc, char** argv, samri::data::PreprocessOptions& o) {
  for (int i = 1; i < argc; ++i) {
    std::string file;
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      file = argv[i + 1];
    } else if (std::strncmp(argv[i], "--config=", 9) == 0) {
      file = argv[i] + 9;
    }
    if (file.empty()) continue;
    try {
      samri::data::apply_preprocess_config(o, file);
    } catch (const samri::Error& e) {
      return e.what();
    }
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  samri::data::PreprocessOptions o;
  const std::string config_error = apply_config_from_argv(argc, argv, o);
  samri::app::LogOptions log;
  CLI::App cli{"samri-preprocess: MRI datasets to the SAMRI paper's 2-D training slices."};
  cli.footer(kExamples);
  samri::app::add_common_options(cli, log);

  std::string config;
  int axis = -1;
  cli.add_option("--config", config, "JSON file of options (configs/preprocess_*.json)");
  auto* input = cli.add_option("--input", o.input_dir,
                               "dataset folder: images/ + labels/, or imagesTr/ + labelsTr/");
  auto* list = cli.add_option("--list", o.list_file,
                              "CSV (header: image,label[,patient,modality]) or JSON list of cases");
  input->excludes(list);
  cli.add_option("--output", o.output, "output dataset folder")->required();
  cli.add_option("--dataset", o.dataset, "dataset name (default: folder or list file name)");
  cli.add_option("--label-names", o.label_names,
                 "label names: JSON {\"1\": \"name\"} or 'value name ...' lines (aal.nii.txt)");
  cli.add_option("--series", o.series_uid, "DICOM SeriesInstanceUID when a folder has several");
  auto* axis_opt = cli.add_option("--axis", axis, "slicing axis 0-2 (default: fewest voxels)");
  cli.add_option("--peripheral-fraction", o.peripheral_fraction,
                 "drop the first and last floor(n * F) slices (per end; 0: keep all)")
      ->capture_default_str();
  cli.add_option("--min-pixels", o.min_pixels, "pixels a label needs on a slice to be a sample")
      ->capture_default_str();
  cli.add_flag("--connected-components", o.connected_components,
               "one sample per 8-connected component of a label");
  cli.add_option("--intensity", o.intensity,
                 "slice: per-slice min-max (paper); volume: volume min-max; percentile: volume "
                 "percentiles of non-zero voxels (MedSAM)")
      ->check(CLI::IsMember({"slice", "volume", "percentile"}))
      ->capture_default_str();
  cli.add_option("--percentile-low", o.percentile_low, "percentile mode: low percentile")
      ->capture_default_str();
  cli.add_option("--percentile-high", o.percentile_high, "percentile mode: high percentile")
      ->capture_default_str();
  cli.add_option("--seed", o.seed, "split seed")->capture_default_str();
  cli.add_option("--train-fraction", o.train_fraction, "share of patients in train")
      ->capture_default_str();
  cli.add_option("--val-fraction", o.val_fraction, "share of patients in val (test: the rest)")
      ->capture_default_str();
  cli.add_flag("--zero-shot", o.zero_shot, "put the whole dataset in test");
  cli.add_option("--single-patient-split", o.single_patient_split,
                 "split of a one-patient dataset (default: from its hash)")
      ->check(CLI::IsMember({"train", "val", "test"}));
  cli.add_flag("--resample-labels", o.resample_labels,
               "resample a label map that does not match its image (nearest neighbour)");
  cli.add_option("--geometry-tolerance", o.geometry_tolerance,
                 "tolerance for spacing/origin/direction (mm)")
      ->capture_default_str();
  cli.add_flag("--skip-bad-cases", o.skip_bad_cases,
               "record a bad case in summary.json and go on instead of failing");
  cli.add_option("--threads", o.threads, "volumes processed at once (one volume each in memory)")
      ->capture_default_str();

  return samri::app::run_main(cli, argc, argv, log, [&] {
    if (!config_error.empty()) throw samri::Error(config_error);
    if (axis_opt->count() > 0) o.axis = axis;
    samri::data::run_preprocess(o);
  });
}

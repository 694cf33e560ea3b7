// samri-checkpoint: inspect, create and convert SAM checkpoints.
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/app_common.h"
#include "samri/model/checkpoint_tools.h"

namespace {

constexpr const char* kExamples = R"(
Examples:
  samri-checkpoint info sam_vit_b_01ec64.pth
  samri-checkpoint info --json medsam_vit_b.pth
  samri-checkpoint init --model vit_b --seed 0 --output random_vit_b.pth
  samri-checkpoint convert --input medsam_training.pth --output medsam_flat.pth --model vit_b
  samri-checkpoint convert --input sam_vit_b_01ec64.pth --output sam_vit_b_fp16.pth --dtype fp16
)";

}  // namespace

int main(int argc, char** argv) {
  samri::app::LogOptions log;
  CLI::App cli{"samri-checkpoint: inspect, create and convert SAM / MedSAM / SAMRI checkpoints."};
  cli.footer(kExamples);
  samri::app::add_common_options(cli, log);
  cli.require_subcommand(1);
  cli.fallthrough();  // -v/-q/--log-file also after the subcommand

  std::string info_path;
  bool info_json = false;
  auto* info = cli.add_subcommand("info", "Model size, keys, dtypes, parameters, sha256, wrappers");
  info->add_option("file", info_path, "checkpoint (.pth)")->required();
  info->add_flag("--json", info_json, "print JSON instead of text");

  std::string init_model = "vit_b", init_output;
  std::uint64_t seed = 0;
  auto* init = cli.add_subcommand("init", "Random weights of the official shapes (offline demos)");
  init->add_option("--model", init_model, "vit_b, vit_l, vit_h or an architecture JSON file")
      ->capture_default_str();
  init->add_option("--seed", seed, "random seed")->capture_default_str();
  init->add_option("--output", init_output, "checkpoint to write")->required();

  samri::model::ConvertOptions convert_options;
  auto* convert = cli.add_subcommand(
      "convert", "Unwrap a training checkpoint to a flat official state_dict, optionally cast");
  convert->add_option("--input", convert_options.input, "checkpoint to read")->required();
  convert->add_option("--output", convert_options.output, "checkpoint to write")->required();
  convert->add_option("--dtype", convert_options.dtype, "cast floating tensors: fp32, fp16, bf16")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}));
  convert->add_option("--model", convert_options.model,
                      "check that the weights fit this model (vit_b, vit_l, vit_h or JSON)");

  return samri::app::run_main(cli, argc, argv, log, [&] {
    if (*info) {
      const auto summary = samri::model::summarize_checkpoint(info_path);
      std::cout << (info_json ? samri::model::to_json(summary) + "\n"
                              : samri::model::to_text(summary));
    } else if (*init) {
      samri::model::init_checkpoint(samri::model::SamConfig::from_name_or_file(init_model), seed,
                                    init_output);
      spdlog::info("wrote random {} weights (seed {}) to {}", init_model, seed, init_output);
    } else if (*convert) {
      samri::model::convert_checkpoint(convert_options);
      spdlog::info("wrote {}", convert_options.output);
    }
  });
}

// samri-train: stage 2 of SAMRI, decoder-only fine-tuning from embedding stores.
#include <filesystem>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/app_common.h"
#include "common/dist_options.h"
#include "samri/core/error.h"
#include "samri/core/stop_request.h"
#include "samri/train/train_options.h"

namespace {

constexpr int kExitStopped = 3;  // stopped by SIGTERM/SIGUSR1 after saving: rerun to continue

constexpr const char* kExamples = R"(
The defaults are the SAMRI paper's recipe (configs/train_paper.json); --config reads a JSON file
of config keys (configs/train_public_code.json is the public code's recipe), and every key can
also be set on the command line (--batch-size 1024, --box-jitter 20, ...), which wins over the
file. Only the mask decoder learns; the image encoder is never run or loaded into a model.

The run directory gets last.pth, best_seen.pth, best_zeroshot.pth (full SAM checkpoints, for
samri-infer and Python alike), train_state.pt (the resume point), metrics.jsonl/.csv, config.json,
model.json and stores.json. A run directory that holds a run is refused unless --resume (continue
it) or --force (start over). SIGTERM or SIGUSR1 saves at the end of the step in hand and exits
with status 3; `--resume auto` continues when the folder holds this run and starts it otherwise,
so a requeued SLURM job can rerun the same command.

Examples:
  samri-train --checkpoint sam_vit_b_01ec64.pth --train store/brats store/colin \
              --zeroshot-val store/heldout --output runs/box --precision bf16 --threads 8
  samri-train --config configs/train_public_code.json --checkpoint sam_vit_b_01ec64.pth \
              --train store/brats --output runs/public --batch-size 1024 --micro-batch 32
  samri-train ... --output runs/box --resume auto      # in a requeued SLURM job
  python3 scripts/plot_training.py runs/box --output runs/box/curves.png

Data-parallel: started as several processes, samri-train runs them as one job over LibTorch's
c10d (Gloo on CPUs; NCCL when built with it). Rank, world size and rendezvous come from SLURM
inside a job step (srun), from torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT) or from the flags below. --batch-size stays the global batch. Every rank gets the
same command line; rank 0 writes the run directory, every rank logs to OUTPUT/logs/rank-K.log.
  srun --ntasks 8 --gpus-per-task 1 samri-train ... --device cuda --output runs/ddp
  for r in 0 1; do samri-train ... --rank $r --world-size 2 --master-port 29511 & done; wait
  sbatch scripts/slurm/train.sbatch                   # multi-node, multi-GPU, requeue-safe
)";

std::string kebab(std::string key) {
  for (auto& c : key) {
    if (c == '_') c = '-';
  }
  return key;
}

// A command-line value as JSON: numbers and booleans as such, anything else as a string.
nlohmann::json cli_value(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return text;
  }
}

}  // namespace

int main(int argc, char** argv) {
  samri::train::TrainOptions o;
  samri::app::LogOptions log;
  CLI::App cli{"samri-train: fine-tune SAM's mask decoder on embedding stores (SAMRI stage 2)."};
  cli.footer(kExamples);
  samri::app::add_common_options(cli, log);

  std::string config_file;
  cli.add_option("--config", config_file, "training config JSON (keys as below)");
  cli.add_option("--checkpoint", o.checkpoint, "base SAM checkpoint (.pth)")->required();
  cli.add_option("--train", o.train, "embedding store(s): split train trains, split val validates")
      ->required();
  cli.add_option("--val", o.val, "store(s) whose every sample is seen-set validation");
  cli.add_option("--zeroshot-val", o.zeroshot_val, "store(s) of zero-shot validation");
  cli.add_option("--output", o.output, "the run directory")->required();
  auto* resume = cli.add_option("--resume", o.resume,
                                "continue the run in --output; 'auto': continue it if there is "
                                "one, start otherwise")
                     ->expected(0, 1);
  cli.add_flag("--force", o.force, "start over in a run directory that holds a run");
  cli.add_flag("--embed-online", o.embed_online,
               "run the image encoder on the slice images at every step instead of reading the "
               "stores (the paper's Table S6 comparison; slow)");
  cli.add_flag("--allow-mismatch", o.allow_mismatch,
               "use stores made with another encoder than the checkpoint's");

  samri::app::DistOptions dist;
  samri::app::add_dist_options(cli, dist, o.backend, o.dist_timeout_s);

  std::map<std::string, std::string> overrides;
  const samri::train::TrainConfig defaults;
  const nlohmann::json default_values = defaults.to_json();
  for (const auto& key : samri::train::TrainConfig::keys()) {
    const std::string flag = "--" + kebab(key.name);
    const auto& value = default_values.at(key.name);
    if (value.is_boolean()) {
      cli.add_flag_callback(
          flag, [&overrides, name = key.name] { overrides[name] = "true"; }, key.help);
    } else {
      cli.add_option(
          flag, overrides[key.name],
          key.help + " [" + (value.is_string() ? value.get<std::string>() : value.dump()) + "]");
    }
  }

  auto launch = [&] { o.launch = samri::app::launch_with_rank_log(dist, o.output, log); };

  int status = 0;
  const int rc = samri::app::run_main(
      cli, argc, argv, log,
      [&] {
        if (resume->count() > 0 && o.resume.empty()) o.resume = "yes";
        if (!o.resume.empty() && o.resume != "yes" && o.resume != "auto") {
          throw samri::Error("--resume '" + o.resume + "': expected no value or 'auto'");
        }
        if (!config_file.empty()) o.config.apply_file(config_file);
        for (const auto& [key, text] : overrides) {
          if (!text.empty()) o.config.set(key, cli_value(text), "--" + kebab(key));
        }
        samri::install_stop_handlers();
        const auto summary = samri::train::run_train(o);
        if (summary.stopped_by_signal) status = kExitStopped;
      },
      launch);
  return rc != 0 ? rc : status;
}

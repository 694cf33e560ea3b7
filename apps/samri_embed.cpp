// samri-embed: stage 1 of SAMRI, the frozen image encoder over preprocessed slices into a store.
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/app_common.h"
#include "samri/core/error.h"
#include "samri/core/stop_request.h"
#include "samri/embed/embed.h"

namespace {

constexpr int kExitStopped = 3;  // stopped by SIGTERM/SIGUSR1 after committing: rerun to continue

constexpr const char* kExamples = R"(
Each distinct slice image is encoded once, however many samples it holds. A rerun of the same
command (or --resume) continues a store where its last committed shard ends, after a kill or a
crash; SIGTERM or SIGUSR1 (SLURM's --signal=B:USR1@120) commits the slices in hand and exits with
status 3, so a requeued job that reruns the command continues. --shard I/N embeds part I of N
(0-based), so the tasks of a job array fill one store together; readers use the union of the
parts directly, no merge step needed (scripts/slurm/embed.sbatch).

Examples:
  samri-embed --checkpoint sam_vit_b_01ec64.pth --data slices/brats slices/colin \
              --output store/ --precision bf16 --threads 8
  samri-embed --checkpoint sam_vit_b_01ec64.pth --data slices/brats --output store/ \
              --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT --device cuda --batch-size 8
  samri-embed info store/          # counts per dataset and split, dtype, checkpoint, size
  samri-embed verify store/        # checksums, index, leftovers; exit 0 only if whole

Read a shard from Python (h5py):
  import h5py; f = h5py.File("store/shards/p0000of0001-000000.h5", "r")
  x = f["embeddings"][0]                     # (256, 64, 64) float16 for an fp16 store
  print(f["slice_names"][0], f["slice_ids"][0])
)";

}  // namespace

int main(int argc, char** argv) {
  samri::embed::EmbedOptions o;
  samri::app::LogOptions log;
  CLI::App cli{
      "samri-embed: SAM's image encoder over samri-preprocess slices, into an embedding "
      "store for samri-train and samri-eval."};
  cli.footer(kExamples);
  samri::app::add_common_options(cli, log);

  std::string splits;
  auto* checkpoint = cli.add_option("--checkpoint", o.checkpoint, "SAM checkpoint (.pth)");
  cli.add_option("--model", o.model, "vit_b | vit_l | vit_h | architecture JSON")
      ->capture_default_str();
  auto* data = cli.add_option("--data", o.data, "samri-preprocess output folder(s)");
  auto* output = cli.add_option("--output", o.output, "the store (a folder; created or continued)");
  cli.add_option("--splits", splits, "comma-separated splits to embed (default: train,val,test)");
  cli.add_option("--precision", o.precision, "encoder precision: fp32 | bf16 | fp16 (CUDA only)")
      ->capture_default_str();
  cli.add_option("--store-dtype", o.store_dtype, "fp16 | bf16 | fp32 | int8")
      ->check(CLI::IsMember({"fp16", "bf16", "fp32", "int8"}))
      ->capture_default_str();
  cli.add_option("--device", o.device, "cpu | cuda | cuda:N")->capture_default_str();
  cli.add_option("--batch-size", o.batch_size, "slices per encoder call")->capture_default_str();
  cli.add_option("--threads", o.threads, "CPU threads for LibTorch (0: its default)")
      ->capture_default_str();
  cli.add_option("--shard", o.shard, "embed part I of N (0-based I), e.g. a job array's task")
      ->capture_default_str();
  cli.add_flag("--resume", o.resume, "continue an existing store (a plain rerun does too)");
  cli.add_flag("--allow-mismatch", o.allow_mismatch,
               "append to a store made with another checkpoint or architecture");
  cli.add_option("--shard-size", o.shard_size, "slices per shard file")->capture_default_str();
  cli.add_option("--commit-seconds", o.commit_seconds,
                 "commit a partial shard after this many seconds (bounds the work a kill loses)")
      ->capture_default_str();

  std::string store;
  bool as_json = false;
  auto* info = cli.add_subcommand("info", "counts, dtype, checkpoint and size of a store");
  info->add_option("store", store, "the store folder")->required();
  info->add_flag("--json", as_json, "print JSON");
  auto* verify = cli.add_subcommand("verify", "check every shard, checksum and the index");
  verify->add_option("store", store, "the store folder")->required();
  cli.require_subcommand(0, 1);

  int status = 0;
  const int rc = samri::app::run_main(cli, argc, argv, log, [&] {
    if (*info) {
      std::cout << samri::embed::store_info(store, as_json);
      return;
    }
    if (*verify) {
      std::string report;
      const bool whole = samri::embed::verify_store(store, report);
      std::cout << report;
      status = whole ? 0 : 1;
      return;
    }
    for (auto* required : {checkpoint, data, output}) {
      if (required->count() == 0) throw samri::Error(required->get_name() + " is required");
    }
    if (!splits.empty()) o.splits = samri::embed::parse_splits(splits);
    samri::install_stop_handlers();
    const auto summary = samri::embed::run_embed(o);
    if (summary.stopped_by_signal) status = kExitStopped;
  });
  return rc != 0 ? rc : status;
}

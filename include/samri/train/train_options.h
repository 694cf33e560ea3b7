#pragma once

#include <optional>
#include <string>
#include <vector>

#include "samri/dist/launch_env.h"
#include "samri/train/train_config.h"

namespace samri::train {

// Everything samri-train takes.
struct TrainOptions {
  TrainConfig config;
  std::string checkpoint;                 // the base SAM checkpoint (its decoder is trained)
  std::vector<std::string> train;         // stores: split train trains, split val validates
  std::vector<std::string> val;           // stores whose every sample is seen-set validation
  std::vector<std::string> zeroshot_val;  // stores whose every sample is zero-shot validation
  std::string output;                     // the run directory
  std::string resume;                     // "" start, "yes" continue, "auto" continue if possible
  bool force = false;                     // start over in a run directory that holds a run
  bool allow_mismatch = false;            // stores of another encoder than the checkpoint's
  bool embed_online = false;     // run the encoder at every step instead of reading the stores
  dist::LaunchEnv launch;        // data-parallel rank, world size and rendezvous (world 1: alone)
  std::string backend = "auto";  // c10d backend: auto, gloo or nccl
  int dist_timeout_s = 300;      // a rank that hangs this long stops the others
};

struct TrainSummary {
  std::int64_t first_step = 0;  // where this process started (> 0 when resumed)
  std::int64_t steps = 0;       // optimiser steps done in all (including before a resume)
  std::int64_t total_steps = 0;
  double last_loss = 0;
  std::optional<double> best_seen_dice;
  std::optional<double> best_zeroshot_dice;
  bool stopped_by_signal = false;
  double all_reduce_s = 0;            // time in the gradient all-reduce (data-parallel)
  std::int64_t all_reduce_bytes = 0;  // bytes each rank contributes to it per step
};

// samri-train's job: decoder-only fine-tuning from embedding stores into `output` (last.pth,
// best_seen.pth, best_zeroshot.pth, epoch_NNNN.pth, train_state.pt, metrics.jsonl/.csv,
// config.json, model.json, stores.json, run.json). Throws samri::Error for bad input.
TrainSummary run_train(const TrainOptions& options);

}  // namespace samri::train

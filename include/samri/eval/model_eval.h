#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "samri/dist/launch_env.h"
#include "samri/eval/eval_report.h"

namespace samri::eval {

// Options of `samri-eval --model NAME=CKPT ... --test STORE...`: SAM-family checkpoints decoding
// the stored embeddings of test slices, prompted from the ground truth.
struct ModelEvalOptions {
  EvalSettings settings;
  std::vector<std::pair<std::string, std::string>> models;  // (name in the tables, checkpoint)
  std::vector<std::string> test;                            // embedding stores
  std::string prompt = "box";                               // box | box_point | both
  std::vector<std::string> splits;                          // empty: every sample
  std::string device = "cpu";
  std::string precision = "fp32";  // the decoder's
  std::int64_t batch_size = 16;
  std::uint64_t seed = 0;  // the point prompts' random streams (one per case)
  bool allow_mismatch = false;
  // Data-parallel: the ranks split the batches of cases and rank 0 gathers them and writes the
  // report, the same as one process's.
  dist::LaunchEnv launch;
  std::string backend = "auto";
  int dist_timeout_s = 300;
};

// Every sample (object on a slice) of the test stores, for every model and prompt kind: the
// tightest box (no jitter) and, for box_point, one object pixel drawn by the training default
// rule (uniform) from a stream seeded by (seed, case), so every model gets the same prompts. The
// low-res logits are upsampled to the slice's original size as SAM does and thresholded at 0;
// the reference is the stored label map. Throws samri::Error when a model's encoder or
// architecture is not the stores' (unless allow_mismatch), or no sample is left.
EvalSummary run_model_eval(const ModelEvalOptions& options);

}  // namespace samri::eval

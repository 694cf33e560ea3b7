#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace samri::train {

// Every value of a training run that a config file or the command line can set. The defaults are
// the SAMRI paper's (configs/train_paper.json); configs/train_public_code.json holds the public
// code's values (FACTS section 2). Pixel amounts are in the 1024 input frame of ViT-B and scale by
// img_size / 1024 for other architectures.
struct TrainConfig {
  // Prompts.
  std::string prompt = "box";          // box | box_point
  double box_jitter = 20;              // each box coordinate moves by U(-j, j) px; 0: none
  double box_jitter_min_extent = 0;    // jitter an axis only when the box is wider than this
  std::string point_rule = "uniform";  // uniform | middle_raster | interior

  // Sampling: every dataset gives `samples_per_dataset` samples per epoch (0: all of it once).
  std::int64_t samples_per_dataset = 5000;
  bool keep_large_datasets = false;  // the quota is only a minimum

  // Optimisation.
  std::int64_t epochs = 200;
  std::int64_t batch_size = 1024;  // global: the samples of one optimiser step over all ranks
  std::int64_t micro_batch = 0;    // samples per accumulation step; 0: the per-process batch
  // Samples one forward and backward pass holds: the loss is a mean over samples, so a micro-batch
  // run in passes has the same gradient (up to rounding) with a fraction of the activations; on
  // the CPU, passes of 4 are as fast per sample as larger ones. 0: 4 on the CPU, else all.
  std::int64_t samples_per_pass = 0;
  double lr = 1e-5;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  std::string schedule = "constant";  // constant | cosine (to min_lr at the last step)
  std::int64_t warmup_steps = 0;      // linear warm-up from 0
  double min_lr = 0;
  double grad_clip = 0;  // max global gradient norm; 0: off

  // Loss: focal_weight * focal + dice_weight * Dice (+ iou_weight * IoU-prediction MSE).
  double focal_weight = 20;
  double dice_weight = 1;
  double focal_gamma = 2;
  double focal_alpha = -1;  // < 0: no alpha weighting
  double dice_smooth = 1e-5;
  // SAM's IoU-prediction loss (not in SAMRI's recipe): trains the head whose predicted IoU
  // samri-infer's confidence flags and stop rules read.
  double iou_weight = 0;

  // Runtime.
  std::string precision = "fp32";  // fp32 | bf16 | fp16 (CUDA)
  std::string device = "cpu";
  int threads = 0;  // 0: LibTorch's default
  std::int64_t seed = 0;
  bool deterministic = false;
  std::int64_t max_steps = 0;  // 0: run every epoch

  // Validation, checkpoints, logs.
  std::int64_t val_every_steps = 0;      // 0: at the end of every epoch
  std::int64_t val_max_samples = 0;      // per validation set; 0: all
  std::int64_t save_every_epochs = 0;    // epoch_NNNN.pth every N epochs; 0: never
  std::int64_t state_every_steps = 100;  // training state (resume point) every N steps
  std::int64_t log_every_steps = 10;

  // Every field as JSON (the resolved config a run directory keeps).
  nlohmann::json to_json() const;
  // Sets one field from JSON; samri::Error naming `source` and the key for an unknown key or a
  // value of the wrong type.
  void set(const std::string& key, const nlohmann::json& value, const std::string& source);
  // set() for every key of a JSON object file.
  void apply_file(const std::filesystem::path& file);
  // Ranges and choices; samri::Error naming the key.
  void validate() const;

  // The keys, in the order of the struct, with a line of help each (for --help and the CLI).
  struct Key {
    std::string name;
    std::string help;
  };
  static const std::vector<Key>& keys();
};

}  // namespace samri::train

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "samri/model/sam_config.h"

namespace samri::model {

// What `samri-checkpoint info` reports.
struct CheckpointSummary {
  std::string path;
  std::uintmax_t file_bytes = 0;
  std::string sha256;
  std::size_t key_count = 0;
  std::int64_t parameter_count = 0;           // elements over all tensors
  std::map<std::string, std::size_t> dtypes;  // dtype name → tensor count
  std::string model;                          // vit_b | vit_l | vit_h | unknown (from shapes)
  std::map<std::string, std::size_t> keys_per_part;  // image_encoder / prompt_encoder / ...
  std::vector<std::string> stripped;                 // wrappers removed while reading
  std::vector<std::string> ignored_top_level_keys;
  bool official_layout = false;  // OrderedDict state_dict, as torch.save writes
};

CheckpointSummary summarize_checkpoint(const std::string& path);
std::string to_text(const CheckpointSummary& summary);
std::string to_json(const CheckpointSummary& summary);

// Random weights of the official shapes (seeded, reproducible), so that the demo, tests and
// benchmarks run without downloading anything. They segment nothing useful.
void init_checkpoint(const SamConfig& config, std::uint64_t seed, const std::string& output);

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string dtype;  // "" (keep), fp32, fp16, bf16
  std::string model;  // "" (no check) or a model name/config: verify the keys and shapes fit
};
// Unwraps a training checkpoint ({"model": ...}, "module." prefixes) into a flat official
// state_dict, optionally casting floating tensors, and writes it atomically.
void convert_checkpoint(const ConvertOptions& options);

}  // namespace samri::model

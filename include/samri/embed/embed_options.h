#pragma once

#include <string>
#include <utility>
#include <vector>

namespace samri::embed {

// Everything `samri-embed` takes; the CLI fills it and calls run_embed (embed.h).
struct EmbedOptions {
  std::string checkpoint;
  std::string model = "vit_b";       // vit_b | vit_l | vit_h | path to a JSON architecture
  std::vector<std::string> data;     // samri-preprocess output folders
  std::string output;                // the store (a folder)
  std::vector<std::string> splits;   // empty: all of train, val, test
  std::string precision = "fp32";    // the encoder's: fp32 | bf16 | fp16 (CUDA)
  std::string store_dtype = "fp16";  // fp16 | bf16 | fp32 | int8
  std::string device = "cpu";
  int batch_size = 1;         // slices per encoder call
  int threads = 0;            // 0: LibTorch's default
  std::string shard = "0/1";  // I/N: embed part I of N (a SLURM array task)
  bool resume = false;        // accepted for clarity: a rerun always continues a matching store
  bool allow_mismatch = false;
  int shard_size = 256;         // slices per shard file
  double commit_seconds = 600;  // commit a partial shard after this long (bounds lost work)
  int prefetch = 8;             // slices read ahead of the encoder
};

// "I/N" with 0 <= I < N → {I, N}; anything else throws samri::Error.
std::pair<int, int> parse_shard_spec(const std::string& text);

// "train,val" → {"train", "val"}, each one of train, val, test; throws samri::Error otherwise.
std::vector<std::string> parse_splits(const std::string& text);

}  // namespace samri::embed

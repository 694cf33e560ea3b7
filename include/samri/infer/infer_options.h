#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "samri/infer/propagation.h"
#include "samri/infer/slice_report.h"

namespace samri::infer {

// Everything samri-infer takes; the CLI fills it and calls run_infer (infer.h).
struct InferOptions {
  std::string checkpoint;
  std::string model = "vit_b";  // vit_b | vit_l | vit_h | path to a JSON architecture
  std::string input;            // 2-D image, 3-D volume, or DICOM series folder
  std::string series_uid;       // DICOM folder with several series
  std::string output;

  // 2-D prompts (pixels of the image SAM sees: x = column, y = row).
  std::optional<std::array<float, 4>> box;
  std::vector<std::array<float, 3>> points;  // x, y, label (1 positive, 0 negative)
  bool multimask = false;
  std::string save_logits;

  // 3-D prompts.
  std::string prompts_file;
  std::string boxes_from;  // label volume: tightest box of every label on every slice
  std::int64_t min_box_pixels = 10;
  std::optional<int> axis;
  std::optional<std::pair<std::int64_t, std::int64_t>> slices;  // [begin, end)

  // 3-D from one prompt: --box (and --point) on the seed slices, carried through the volume; with
  // a prompts file, every entry becomes a seed.
  bool propagate = false;
  std::vector<std::int64_t> seed_slices;
  std::int64_t label = 1;
  PropagationSettings propagation;
  ReviewRules review;
  std::string report;      // per-slice report of volume runs; default: the output's name, .json
  std::string embeddings;  // 3-D: a samri-embed store holding this volume's slices
  bool allow_mismatch = false;  // use a store made with another encoder anyway

  std::string device = "cpu";      // cpu | cuda | cuda:N
  std::string precision = "fp32";  // fp32 | bf16 | fp16
  int threads = 0;                 // 0: LibTorch's default
};

// "A:B" → {A, B}; throws samri::Error on anything else.
std::pair<std::int64_t, std::int64_t> parse_slice_range(const std::string& text);

}  // namespace samri::infer

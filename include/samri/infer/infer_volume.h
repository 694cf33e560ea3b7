#pragma once

#include <map>
#include <vector>

#include "samri/data/prompts_file.h"
#include "samri/infer/infer_options.h"
#include "samri/io/image.h"
#include "samri/model/predictor.h"

namespace samri::infer {

// The prompts of a volume run, grouped by slice, along `axis`.
struct VolumePrompts {
  int axis = 2;
  std::map<std::int64_t, std::vector<data::SlicePrompt>> by_slice;
  std::size_t count() const;
};

// From options.prompts_file or options.boxes_from, restricted to options.slices; validates every
// slice index, box and point against the volume. Throws samri::Error naming the file at fault.
VolumePrompts collect_volume_prompts(const InferOptions& options, const io::Image& volume);

// Label map of one slice (rows, cols): each prompt's mask gets its label; where masks overlap,
// the higher logit wins. The encoder runs once for the slice.
torch::Tensor segment_slice(model::SamPredictor& predictor, const torch::Tensor& view,
                            const std::vector<data::SlicePrompt>& prompts);

// Segments a 3-D volume and writes the label volume (input grid, atomically).
void run_volume(const InferOptions& options, const io::Image& volume, const VolumePrompts& prompts,
                model::SamPredictor& predictor);

}  // namespace samri::infer

#pragma once

#include <map>
#include <vector>

#include "samri/data/prompts_file.h"
#include "samri/infer/infer_options.h"
#include "samri/infer/stored_slices.h"
#include "samri/io/image.h"
#include "samri/model/predictor.h"

namespace samri::infer {

// The prompts of a volume run along `axis`: those segmented on their slice alone, grouped by
// slice, and the propagated objects' seeds, grouped by label.
struct VolumePrompts {
  int axis = 2;
  std::pair<std::int64_t, std::int64_t> range{0, 0};  // the slices the run may touch
  std::map<std::int64_t, std::vector<data::SlicePrompt>> by_slice;
  std::map<std::int64_t, std::vector<data::SlicePrompt>> objects;
  std::size_t count() const;
};

// From options.prompts_file, options.boxes_from or options.box on options.seed_slices, restricted
// to options.slices; validates every slice index, box and point against the volume and the seed
// rules (data/prompts_file.h). Throws samri::Error naming the file or option at fault.
VolumePrompts collect_volume_prompts(const InferOptions& options, const io::Image& volume);

// Label map of one slice (rows, cols): each prompt's mask gets its label; where masks overlap,
// the higher logit wins (LabelComposer). The encoder runs once for the slice.
torch::Tensor segment_slice(model::SamPredictor& predictor, const torch::Tensor& view,
                            const std::vector<data::SlicePrompt>& prompts);

// Segments a 3-D volume and writes the label volume (input grid, atomically) and the per-slice
// report (slice_report.h). Each slice is encoded once, however many objects and seeds need it.
// `stored` (may be null) provides the slices it holds instead of the encoder.
void run_volume(const InferOptions& options, const io::Image& volume, const VolumePrompts& prompts,
                model::SamPredictor& predictor, const StoredSlices* stored = nullptr);

}  // namespace samri::infer

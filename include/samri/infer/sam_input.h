#pragma once

#include <torch/torch.h>

namespace samri::infer {

// The (H, W, 3) uint8 image SAM sees for a slice in SAM's view: the paper's per-slice min-max
// rule (data/intensity.h), replicated to three channels; an RGB view is normalised as a whole.
torch::Tensor sam_input_image(const torch::Tensor& view);

}  // namespace samri::infer

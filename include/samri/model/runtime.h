#pragma once

#include <string>

#include <torch/torch.h>

#include "samri/model/predictor.h"
#include "samri/model/sam.h"
#include "samri/model/sam_config.h"
#include "samri/model/state_dict.h"

namespace samri::model {

// "cpu", "cuda", "cuda:N" → a device that exists here, or samri::Error saying why not.
torch::Device parse_device(const std::string& text);

// "fp32" | "bf16" | "fp16" (fp16 only on CUDA: on a CPU it is refused with a hint to use bf16).
Precision parse_precision(const std::string& text, const torch::Device& device);

// A SAM of `config` with the weights of `checkpoint` (any layout read_checkpoint accepts),
// checked strictly, in eval mode, on `device`.
Sam load_sam(const std::string& checkpoint, const SamConfig& config, const torch::Device& device);

// The same from weights already read from `checkpoint` (named in errors). The model takes the
// tensors over (adopt_state_dict): on the CPU in fp32 it shares their memory.
Sam load_sam(StateDict weights, const std::string& checkpoint, const SamConfig& config,
             const torch::Device& device);

}  // namespace samri::model

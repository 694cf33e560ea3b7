#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace samri::model {

// Whether a module draws its weights at random (as torch does) or leaves them unset because a
// checkpoint is about to replace them. ViT-B's encoder draws 86 M numbers into 344 MB of fresh
// memory, the largest part of a tool's start-up before its weights are even read.
enum class WeightInit { kRandom, kNone };

// A fully connected layer with torch::nn::Linear's parameter names ("weight" (out, in), "bias")
// and, under kRandom, its initialisation value for value (same draws in the same order), so that
// a seeded random model stays the same. Under kNone the parameters are allocated, never written:
// load or adopt a state_dict before use.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true,
             WeightInit init = WeightInit::kRandom);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;
  torch::Tensor bias;  // undefined without bias
};
TORCH_MODULE(Linear);

}  // namespace samri::model

#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace samri::model {

// The mask decoder's small MLP (hypernetwork heads and the IoU head): num_layers Linear layers
// registered as layers.0 .. layers.{num_layers-1}, ReLU between them, none after the last.
class MLPImpl : public torch::nn::Module {
 public:
  MLPImpl(int64_t input_dim, int64_t hidden_dim, int64_t output_dim, int64_t num_layers);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<torch::nn::Linear> layers_;
};
TORCH_MODULE(MLP);

}  // namespace samri::model

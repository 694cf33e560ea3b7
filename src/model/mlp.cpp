#include "samri/model/mlp.h"

#include <string>

#include "samri/core/error.h"

namespace samri::model {

MLPImpl::MLPImpl(int64_t input_dim, int64_t hidden_dim, int64_t output_dim, int64_t num_layers) {
  if (num_layers < 1)
    throw Error("MLP needs at least one layer, got " + std::to_string(num_layers));
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < num_layers; ++i) {
    const int64_t in = i == 0 ? input_dim : hidden_dim;
    const int64_t out = i == num_layers - 1 ? output_dim : hidden_dim;
    layers_.emplace_back(torch::nn::Linear(in, out));
    list->push_back(layers_.back());
  }
  // A ModuleList gives the reference's "layers.N" state_dict names.
  register_module("layers", list);
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    y = layers_[i](y);
    if (i + 1 < layers_.size()) y = torch::relu(y);
  }
  return y;
}

}  // namespace samri::model

#include "samri/model/linear.h"

#include <cmath>

namespace samri::model {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias, WeightInit init) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}));
  if (init == WeightInit::kNone) return;
  // torch::nn::Linear's reset_parameters: Kaiming-uniform weights, then a bias uniform in
  // +-1/sqrt(fan_in).
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

}  // namespace samri::model
